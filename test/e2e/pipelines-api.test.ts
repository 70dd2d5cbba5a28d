import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { workerSchema } from '../../src/jobs/index.js';
import {
  logPageSchema,
  pipelineRunDetailSchema,
  pipelineRunPageSchema,
  pipelineSchema,
} from '../../src/pipelines/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';

describeEachBackend('pipelines over HTTP: /api/v1/pipelines, /api/v1/pipeline-runs', (getStore) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(getStore());
  });
  afterAll(async () => {
    await t.services.jobs.close();
    await t.close();
  });

  const yaml = `
name: api-demo
params:
  n: { type: integer, default: 2 }
steps:
  a:
    run: echo "v=\${{ params.n }}" >> $SEXTANT_OUTPUT; echo hello-from-a
    outputs: { v: {} }
  b: { run: 'echo "\${{ steps.a.outputs.v }}"' }
`;

  it('registers, runs, shows, streams logs and lists a run; a second registration is unchanged', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/pipelines', payload: { yaml } });
    expect(created.statusCode, created.body).toBe(200);
    const reg = z.object({ pipeline: pipelineSchema, created: z.boolean() }).parse(created.json());
    expect(reg).toMatchObject({ created: true, pipeline: { name: 'api-demo', version: 1 } });
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/pipelines', payload: { yaml } });
    expect(again.json()).toMatchObject({ created: false, pipeline: { id: reg.pipeline.id } });

    const w = t.services.jobs.work({ concurrency: 2 });
    const started = await t.app.inject({
      method: 'POST',
      url: '/api/v1/pipeline-runs',
      payload: { pipeline: 'api-demo', params: { n: 5 } },
    });
    expect(started.statusCode, started.body).toBe(200);
    const { runId } = z.object({ runId: z.string() }).parse(started.json());
    let run = pipelineRunDetailSchema.parse(
      (await t.app.inject({ url: `/api/v1/pipeline-runs/${runId}` })).json(),
    );
    for (let i = 0; i < 400 && run.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      run = pipelineRunDetailSchema.parse(
        (await t.app.inject({ url: `/api/v1/pipeline-runs/${runId}` })).json(),
      );
    }
    expect(run).toMatchObject({ status: 'succeeded', params: { n: 5 }, trigger: { kind: 'api' } });
    expect(run.steps.map((s) => [s.name, s.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'succeeded'],
    ]);
    const logs = logPageSchema.parse(
      (await t.app.inject({ url: `/api/v1/pipeline-runs/${runId}/logs?step=a` })).json(),
    );
    expect(logs.chunks.map((c) => c.text).join('')).toContain('hello-from-a');
    // A cursor returns only what came after it.
    const after = logPageSchema.parse(
      (await t.app.inject({ url: `/api/v1/pipeline-runs/${runId}/logs?after=${logs.cursor}&step=a` })).json(),
    );
    expect(after).toMatchObject({ chunks: [], done: true });
    const page = pipelineRunPageSchema.parse(
      (await t.app.inject({ url: '/api/v1/pipeline-runs?pipeline=api-demo' })).json(),
    );
    expect(page.runs.map((r) => r.id)).toEqual([runId]);
    const workers = z
      .object({ workers: z.array(workerSchema) })
      .parse((await t.app.inject({ url: '/api/v1/workers' })).json());
    expect(workers.workers.map((x) => x.id)).toContain(w.workerId);
    expect(
      (await t.services.audit.list({ entityType: 'pipeline_run', entityId: runId })).map((e) => e.action),
    ).toEqual(expect.arrayContaining(['pipeline.run.start', 'pipeline.run.finish']));
    await w.close();
  });

  it('bad input is a 4xx naming the field, and nothing is written', async () => {
    const cycle = await t.app.inject({
      method: 'POST',
      url: '/api/v1/pipelines',
      payload: { yaml: 'name: cyc\nsteps:\n  a: { needs: [b], run: x }\n  b: { needs: [a], run: y }\n' },
    });
    expect(cycle.statusCode).toBe(400);
    expect(cycle.json().error.message).toMatch(/cycle a -> b -> a|cycle b -> a -> b/);
    const badParam = await t.app.inject({
      method: 'POST',
      url: '/api/v1/pipeline-runs',
      payload: { pipeline: 'api-demo', params: { n: 'many' } },
    });
    expect(badParam.statusCode).toBe(400);
    expect(badParam.json().error.details.field).toBe('params.n');
    // The server never reads a file a caller names.
    const path = await t.app.inject({
      method: 'POST',
      url: '/api/v1/pipeline-runs',
      payload: { pipeline: '/etc/passwd' },
    });
    expect(path.statusCode).toBe(400);
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/pipelines',
      payload: { yaml: 'name: tpu\nsteps:\n  a: { run: echo, tags: [tpu] }\n' },
    });
    const tagged = await t.app.inject({
      method: 'POST',
      url: '/api/v1/pipeline-runs',
      payload: { pipeline: 'tpu' },
    });
    expect(tagged.statusCode).toBe(400);
    expect(tagged.json().error.details.field).toBe('steps.a.tags');
    const missing = await t.app.inject({
      method: 'POST',
      url: '/api/v1/pipeline-runs',
      payload: { pipeline: 'nope' },
    });
    expect(missing.statusCode).toBe(404);
    const badId = await t.app.inject({ url: '/api/v1/pipeline-runs/run_1' });
    expect(badId.statusCode).toBe(400);
    const page = pipelineRunPageSchema.parse(
      (await t.app.inject({ url: '/api/v1/pipeline-runs?pipeline=api-demo' })).json(),
    );
    expect(page.runs).toHaveLength(1);
  });
});
