import { expect, it } from 'vitest';
import { createTestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';

describeEachBackend('smoke', (get) => {
  it('works', async () => {
    const t = await createTestApp(get());
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/experiments/create',
      payload: { name: 'e1' },
    });
    console.log(r.statusCode, r.body);
    const eid = r.json().experiment_id;
    const r2 = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/runs/create',
      payload: { experiment_id: eid, start_time: '1700000000000' },
    });
    console.log(r2.statusCode, r2.body);
    const rid = r2.json().run.info.run_id;
    const r3 = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/runs/log-batch',
      payload: {
        run_id: rid,
        metrics: [
          { key: 'acc', value: 0.9, timestamp: 1, step: 0 },
          { key: 'acc', value: 'NaN', timestamp: 2, step: 1 },
        ],
        params: [{ key: 'lr', value: '0.01' }],
      },
    });
    console.log(r3.statusCode, r3.body);
    const r4 = await t.app.inject({ method: 'GET', url: `/api/2.0/mlflow/runs/get?run_id=${rid}` });
    console.log(r4.statusCode, r4.body);
    const r5 = await t.app.inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/artifacts/${eid}/${rid}/artifacts/a/b.txt`,
      payload: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    console.log(r5.statusCode, r5.body);
    const r6 = await t.app.inject({
      method: 'GET',
      url: `/api/2.0/mlflow-artifacts/artifacts?path=${eid}/${rid}/artifacts/a`,
    });
    console.log(r6.statusCode, r6.body);
    const r7 = await t.app.inject({
      method: 'GET',
      url: `/api/2.0/mlflow-artifacts/artifacts/${eid}/${rid}/artifacts/a/b.txt`,
    });
    console.log(r7.statusCode, r7.body);
    const r8 = await t.app.inject({
      method: 'GET',
      url: `/api/2.0/mlflow-artifacts/artifacts/${eid}/${rid}/artifacts/%252e%252e%252fx`,
    });
    console.log(r8.statusCode, r8.body);
    const r9 = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/runs/search',
      payload: { experiment_ids: [eid], filter: "params.lr = '0.01'" },
    });
    console.log(r9.statusCode, r9.body.slice(0, 300));
    const r10 = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/runs/create',
      payload: { experiment_id: eid, bogus: 1 },
    });
    console.log(r10.statusCode, r10.body);
    const r11 = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    console.log(r11.statusCode, r11.body.slice(0, 200));
    const r12 = await t.app.inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/artifacts/${eid}/${rid}/artifacts/c.bin`,
      payload: Buffer.from([1, 2, 3]),
    });
    console.log(r12.statusCode, r12.body);
    expect(r.statusCode).toBe(200);
    await t.close();
  });
});
