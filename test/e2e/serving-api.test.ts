import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { explanationSchema } from '../../src/governance/explain/index.js';
import { buildServingApp } from '../../src/server/serving-app.js';
import {
  deploymentStatsSchema,
  feedbackOutcomeSchema,
  predictionOutputSchema,
} from '../../src/serving/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, describeEachBackend } from '../support/backends.js';
import { nativeError, uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';
import { buildChain } from './serving-chain.js';

/*
 * Predict, feedback and metrics over HTTP: on deployments the main server manages (opened on first
 * request, following their alias) and on the lean app `sextant serve` runs.
 */

const admin = { name: 'ada', role: 'admin' as const };
const predictReply = z.strictObject({
  predictions: z.array(
    predictionOutputSchema.extend({
      prediction_id: z.string().regex(/^pred_/),
      model: z.string(),
      version: z.number().int(),
      explanation: z.unknown().optional(),
    }),
  ),
});
const feedbackReply = z.strictObject({
  outcomes: z.array(feedbackOutcomeSchema),
  recorded: z.number(),
  duplicate: z.number(),
  failed: z.number(),
});

async function registerTiny(t: TestApp, model: string): Promise<void> {
  for (const w of [
    [0.5, -0.25, 1],
    [-1, 0.5, -0.5],
  ] as [number, number, number][]) {
    await t.services.registry.versions.registerFile({
      actor: admin,
      model,
      filename: 'model.onnx',
      content: tinyOnnxModel(w),
    });
  }
  await t.services.registry.aliases.set({ actor: admin, model, alias: 'live', version: 1 });
}

/** One request on its own connection (no pooled socket the closing server could reap). */
function request(
  port: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const post = (app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: payload as object, headers });

describeEachBackend('predict and feedback on server-managed deployments', (getStore) => {
  let t: TestApp;
  let model: string;
  let name: string;

  beforeAll(async () => {
    t = await createTestApp(getStore());
    model = uniq('tiny');
    await registerTiny(t, model);
    name = uniq('scoring');
    await t.services.serving.deployments.create({ actor: 'ada', name, model: `${model}@live` });
  });
  afterAll(() => t.close());

  it('predicts a batch at /predict and /invocations, each prediction with its id and version, all logged', async () => {
    const a = await post(t.app, `/api/v1/deployments/${name}/predict`, {
      instances: [
        [1, 2, 3],
        [0, 0, 0],
      ],
    });
    expect(a.statusCode, a.body).toBe(200);
    const first = predictReply.parse(a.json()).predictions;
    expect(first.map((p) => [p.model, p.version])).toEqual([
      [model, 1],
      [model, 1],
    ]);
    const b = await post(t.app, `/api/v1/deployments/${name}/invocations`, {
      dataframe_split: { columns: ['f0', 'f1', 'f2'], data: [[1, 2, 3]] },
    });
    expect(b.statusCode, b.body).toBe(200);
    const second = predictReply.parse(b.json()).predictions;
    expect(second[0]?.prediction).toEqual(first[0]?.prediction);
    for (const p of [...first, ...second]) {
      const logged = await t.services.serving.predictions.get(p.prediction_id);
      expect(logged).toMatchObject({ model, version: 1, alias: 'live', role: 'champion' });
    }
  });

  it('follows the alias: after a promotion the deployment answers with the new version', async () => {
    await post(t.app, `/api/v1/deployments/${name}/predict`, [[1, 2, 3]]);
    await t.services.registry.aliases.set({ actor: admin, model, alias: 'live', version: 2 });
    await (await t.services.serving.host.get(name)).refresh();
    const res = await post(t.app, `/api/v1/deployments/${name}/predict`, [[1, 2, 3]]);
    expect(predictReply.parse(res.json()).predictions[0]?.version).toBe(2);
    await t.services.registry.aliases.set({ actor: admin, model, alias: 'live', version: 1 });
    await (await t.services.serving.host.get(name)).refresh();
  });

  it('answers bad input with a 400 naming the field, unknown deployments with 404, huge batches with 413', async () => {
    nativeError(
      await post(t.app, `/api/v1/deployments/${name}/predict`, { instances: [[1, 2]] }),
      400,
      'VALIDATION_FAILED',
    );
    const nan = await post(t.app, `/api/v1/deployments/${name}/predict`, {
      dataframe_records: [{ f0: 1, f1: 'x', f2: 3 }],
    });
    nativeError(nan, 400, 'VALIDATION_FAILED');
    expect(nan.json().error.details.field).toMatch(/dataframe_records\[0\]\.f1/);
    nativeError(
      await post(t.app, `/api/v1/deployments/${uniq('none')}/predict`, [[1, 2, 3]]),
      404,
      'NOT_FOUND',
    );
    const huge = Array.from({ length: 10_001 }, () => [1, 2, 3]);
    nativeError(await post(t.app, `/api/v1/deployments/${name}/predict`, huge), 413, 'PAYLOAD_TOO_LARGE');
    nativeError(
      await post(t.app, `/api/v1/deployments/${name}/predict?explain=maybe`, [[1, 2, 3]]),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('takes feedback singly or in batches: recorded once, duplicates not counted twice, unknown ids per item', async () => {
    const res = await post(t.app, `/api/v1/deployments/${name}/predict`, [
      [1, 2, 3],
      [3, 2, 1],
    ]);
    const [p1, p2] = predictReply.parse(res.json()).predictions;
    const one = await post(t.app, '/api/v1/feedback', { prediction_id: p1!.prediction_id, label: 1 });
    expect(one.statusCode, one.body).toBe(200);
    expect(feedbackReply.parse(one.json()).outcomes).toEqual([
      { predictionId: p1!.prediction_id, status: 'recorded' },
    ]);
    const again = feedbackReply.parse(
      (await post(t.app, '/api/v1/feedback', { prediction_id: p1!.prediction_id, label: 1 })).json(),
    );
    expect(again.outcomes[0]?.status).toBe('duplicate');
    const missing = 'pred_01jzzzzzzzzzzzzzzzzzzzzzzz';
    nativeError(
      await post(t.app, '/api/v1/feedback', { prediction_id: missing, label: 0 }),
      404,
      'NOT_FOUND',
    );

    const batch = await post(t.app, '/api/v1/feedback', {
      feedback: [
        { prediction_id: p2!.prediction_id, outcome: 0 },
        { prediction_id: missing, label: 0 },
        { prediction_id: p1!.prediction_id, label: 0 },
        { prediction_id: p2!.prediction_id, label: { no: 'objects' } },
      ],
    });
    expect(batch.statusCode, batch.body).toBe(200);
    const b = feedbackReply.parse(batch.json());
    expect(b.outcomes.map((o) => (o.status === 'failed' ? o.error.code : o.status))).toEqual([
      'recorded',
      'NOT_FOUND',
      'CONFLICT',
      'VALIDATION_FAILED',
    ]);
    expect([b.recorded, b.duplicate, b.failed]).toEqual([1, 0, 3]);
    expect((await t.services.serving.predictions.get(p2!.prediction_id)).label?.value).toBe(0);
    // An array works too; a body of the wrong shape is refused whole.
    const arr = feedbackReply.parse(
      (await post(t.app, '/api/v1/feedback', [{ prediction_id: p2!.prediction_id, label: 0 }])).json(),
    );
    expect(arr.outcomes[0]?.status).toBe('duplicate');
    nativeError(await post(t.app, '/api/v1/feedback', { labels: [] }), 400, 'VALIDATION_FAILED');
  });

  it('a deployment whose model cannot load answers 503 until its alias points at a servable version', async () => {
    const text = await t.services.registry.versions.registerFile({
      actor: admin,
      model,
      filename: 'readme.txt',
      content: 'not a model',
    });
    await t.services.registry.aliases.set({ actor: admin, model, alias: 'flaky', version: 1 });
    const flaky = uniq('flaky');
    await t.services.serving.deployments.create({ actor: 'ada', name: flaky, model: `${model}@flaky` });
    await t.services.registry.aliases.set({ actor: admin, model, alias: 'flaky', version: text.version });
    const down = nativeError(
      await post(t.app, `/api/v1/deployments/${flaky}/predict`, [[1, 2, 3]]),
      503,
      'UNAVAILABLE',
    );
    expect(down.message).toContain(flaky);
    const scrape = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(scrape.body).toContain(`sextant_predict_errors_total{deployment="${flaky}",code="UNAVAILABLE"} 1`);
    await t.services.registry.aliases.set({ actor: admin, model, alias: 'flaky', version: 2 });
    const up = await post(t.app, `/api/v1/deployments/${flaky}/predict`, [[1, 2, 3]]);
    expect(predictReply.parse(up.json()).predictions[0]?.version).toBe(2);
  });

  it('counts failed requests by code in the deployment stats once the heartbeat wrote them, summed over replicas', async () => {
    const counted = uniq('counted');
    await t.services.serving.deployments.create({ actor: 'ada', name: counted, model: `${model}@live` });
    const url = `/api/v1/deployments/${counted}/stats`;
    expect((await t.app.inject({ method: 'GET', url })).json()).toMatchObject({
      requests: 0,
      errors: 0,
      errorsByCode: {},
      since: null,
      runtimes: 0,
    });
    expect((await post(t.app, `/api/v1/deployments/${counted}/predict`, [[1, 2, 3]])).statusCode).toBe(200);
    // A record with a missing feature: the caller's error, a 400.
    const missing = await post(t.app, `/api/v1/deployments/${counted}/predict`, {
      dataframe_records: [{ f0: 1, f1: 2 }],
    });
    nativeError(missing, 400, 'VALIDATION_FAILED');
    // The in-memory counters reach the database with the process's next heartbeat: beat now.
    await t.services.serving.host.startHeartbeats({
      host: 'test-host',
      pid: 1,
      address: 'http://127.0.0.1:1',
    });
    const res = await t.app.inject({ method: 'GET', url });
    expect(res.statusCode, res.body).toBe(200);
    const stats = deploymentStatsSchema.parse(res.json());
    expect(stats).toMatchObject({
      deployment: counted,
      requests: 2,
      errors: 1,
      errorsByCode: { VALIDATION_FAILED: 1 },
      runtimes: 1,
    });
    expect(stats.since).not.toBeNull();
    // Another replica's beat adds to it; the same replica beating again replaces its own counts.
    const replica = { deployment: counted, host: 'other', pid: 2, address: 'http://127.0.0.1:2' };
    const runtimeId = await t.services.serving.deployments.heartbeat({
      ...replica,
      counts: { ok: 5, failed: 1, byCode: { VALIDATION_FAILED: 1 } },
    });
    await t.services.serving.deployments.heartbeat({
      ...replica,
      runtimeId,
      counts: { ok: 7, failed: 3, byCode: { VALIDATION_FAILED: 2, INTERNAL: 1 } },
    });
    expect(await t.services.serving.deployments.stats(counted)).toMatchObject({
      requests: 12,
      errors: 4,
      errorsByCode: { VALIDATION_FAILED: 3, INTERNAL: 1 },
      runtimes: 2,
    });
    nativeError(
      await t.app.inject({ method: 'GET', url: `/api/v1/deployments/${uniq('none')}/stats` }),
      404,
      'NOT_FOUND',
    );
  });

  it('serves Prometheus metrics per deployment and version', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain(`sextant_predict_requests_total{deployment="${name}",status="200"}`);
    expect(res.body).toContain(`sextant_predict_requests_total{deployment="${name}",status="400"}`);
    expect(res.body).toMatch(
      new RegExp(
        `sextant_predictions_total\\{deployment="${name}",model_version="1",role="champion"\\} \\d+`,
      ),
    );
    expect(res.body).toContain(
      `sextant_predict_latency_seconds_bucket{le="0.001",deployment="${name}",model_version="1"}`,
    );
    expect(res.body).toContain(`sextant_model_swaps_total{deployment="${name}"} 2`);
  });

  it('picks up a changed deployment (a shadow added) and stops serving a deleted one', async () => {
    const other = uniq('shadowed');
    await t.services.serving.deployments.create({ actor: 'ada', name: other, model: `${model}@live` });
    await post(t.app, `/api/v1/deployments/${other}/predict`, [[1, 2, 3]]);
    await t.services.serving.deployments.update({
      actor: 'ada',
      name: other,
      challenger: { ref: '2', mode: 'shadow' },
    });
    // The host reloads in the background; wait until the new runtime took over.
    for (let i = 0; i < 100 && (await t.services.serving.host.get(other)).deployment.challenger === null; i++)
      await new Promise((r) => setTimeout(r, 20));
    const res = await post(t.app, `/api/v1/deployments/${other}/predict`, [[1, 2, 3]]);
    const [p] = predictReply.parse(res.json()).predictions;
    expect((await t.services.serving.predictions.get(p!.prediction_id)).shadow?.outputs).not.toBeNull();
    await t.services.serving.deployments.remove({ actor: 'ada', name: other });
    nativeError(await post(t.app, `/api/v1/deployments/${other}/predict`, [[1, 2, 3]]), 404, 'NOT_FOUND');
  });
});

describe('the app `sextant serve` runs', () => {
  let store: Store;
  let drop: () => Promise<void>;
  let t: TestApp;
  let model: string;

  beforeAll(async () => {
    const db = await createTestDatabase('sqlite');
    drop = db.drop;
    store = await openStore(db.url);
    t = await createTestApp(store);
    model = uniq('tiny');
    await registerTiny(t, model);
  });
  afterAll(async () => {
    await t.close();
    await store.close();
    await drop();
  });

  it('predicts, takes feedback, reports health, and drains on close: readyz 503 first, nothing lost', async () => {
    const runtime = await t.services.serving.openRuntime({ actor: 'ada', model: `${model}@live` });
    const app = await buildServingApp({ services: t.services, runtime, drainDelayMs: 500 });
    await app.ready();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json()).toMatchObject({ status: 'ready', model, version: 1 });

    const res = await post(app, '/invocations', { inputs: [[1, 2, 3]] });
    expect(res.statusCode, res.body).toBe(200);
    const [p] = predictReply.parse(res.json()).predictions;
    const fb = await post(app, '/feedback', { prediction_id: p!.prediction_id, label: true });
    expect(feedbackReply.parse(fb.json()).recorded).toBe(1);
    nativeError(await post(app, '/predict', { instances: 'x' }), 400, 'VALIDATION_FAILED');
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toContain(
      `sextant_predict_requests_total{deployment="${runtime.deployment.name}",status="200"} 1`,
    );

    // Over a real socket: requests in flight when the close begins are answered and logged, and
    // readyz says draining before the listener stops.
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const inflight = Array.from({ length: 10 }, () => request(port, 'POST', '/predict', [[1, 2, 3]]));
    await new Promise((r) => setTimeout(r, 1));
    const closing = app.close();
    await new Promise((r) => setTimeout(r, 20));
    expect((await request(port, 'GET', '/readyz')).status).toBe(503);
    const answered = await Promise.all(inflight);
    await closing;
    expect(runtime.ready()).toBe(false);
    for (const r of answered) {
      expect(r.status, r.body).toBe(200);
      const id = predictReply.parse(JSON.parse(r.body)).predictions[0]!.prediction_id;
      expect((await t.services.serving.predictions.get(id)).deploymentId).toBe(runtime.deployment.id);
    }
  });

  it('explains on request: attributions plus the base value give the model output', async () => {
    const chain = await buildChain(t.services);
    try {
      const { version } = await chain.train(1);
      await chain.promote(version.version, 'first champion');
      const runtime = await t.services.serving.openRuntime({
        actor: 'ada',
        model: `${chain.model}@champion`,
      });
      const app = await buildServingApp({ services: t.services, runtime });
      const res = await post(app, '/predict?explain=true', { dataframe_records: chain.records.slice(0, 2) });
      expect(res.statusCode, res.body).toBe(200);
      const items = predictReply.parse(res.json()).predictions;
      expect(items).toHaveLength(2);
      for (const item of items) {
        const e = explanationSchema.parse(item.explanation);
        const sum = e.baseValue + Object.values(e.attributions).reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(e.output, 6);
        expect(Object.keys(e.attributions)).toEqual(expect.arrayContaining(Object.keys(chain.records[0]!)));
      }
      // Without ?explain the reply carries none.
      const plain = predictReply.parse((await post(app, '/predict', chain.records.slice(0, 1))).json());
      expect(plain.predictions[0]?.explanation).toBeUndefined();
      await app.close();
    } finally {
      chain.cleanup();
    }
  });

  it('reuses the deployment `serve` made for the same ref, and refuses a name that follows another', async () => {
    const a = await t.services.serving.openRuntime({
      actor: 'ada',
      model: `${model}@live`,
      name: uniq('svc'),
    });
    const b = await t.services.serving.openRuntime({
      actor: 'ada',
      model: `${model}@live`,
      name: a.deployment.name,
    });
    expect(b.deployment.id).toBe(a.deployment.id);
    await expect(
      t.services.serving.openRuntime({ actor: 'ada', model: `${model}@2`, name: a.deployment.name }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    await Promise.all([a.close(), b.close()]);
  });
});
