import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniq } from '../../test/e2e/helpers.js';
import { tinyOnnxModel } from '../../test/e2e/registry-fixtures.js';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { createTestDatabase } from '../../test/support/backends.js';
import { systemClock } from '../core/clock.js';
import type { ModelVersion } from '../registry/index.js';
import { openStore, type Store } from '../store/index.js';
import { canaryBucket } from './canary.js';
import { createDeploymentRuntime, type DeploymentRuntime, type PredictResult } from './deployment-runtime.js';
import { openPredictionLedger } from './ledger/index.js';
import { openServingModel } from './model/index.js';
import type { Deployment } from './serving.schema.js';
import { createServingMetrics, type ServingMetrics } from './serving-metrics.js';

const admin = { name: 'ada', role: 'admin' as const };
/** Version n of the test model has weights WEIGHTS[n - 1]: its score for ROW tells which one answered. */
const WEIGHTS: [number, number, number][] = [
  [0.5, -0.25, 1],
  [-1, 0.5, -0.5],
];
const ROW = [1, 2, 3];
const expectedScore = (version: number) => {
  const w = WEIGHTS[version - 1]!;
  return 1 / (1 + Math.exp(-(w[0] * ROW[0]! + w[1] * ROW[1]! + w[2] * ROW[2]! + 0.1)));
};
const scoreOf = (p: PredictResult['items'][number]['prediction']) => Number(p);

describe('deployment runtime', () => {
  let store: Store;
  let drop: () => Promise<void>;
  let t: TestApp;
  let model: string;
  const open: DeploymentRuntime[] = [];

  beforeAll(async () => {
    const db = await createTestDatabase('sqlite');
    drop = db.drop;
    store = await openStore(db.url);
    t = await createTestApp(store);
    model = uniq('tiny');
    for (const w of WEIGHTS) {
      await t.services.registry.versions.registerFile({
        actor: admin,
        model,
        filename: 'model.onnx',
        content: tinyOnnxModel(w),
      });
    }
    // Version 3 is no model at all: following an alias onto it must not stop the serving.
    await t.services.registry.versions.registerFile({
      actor: admin,
      model,
      filename: 'x.txt',
      content: 'nope',
    });
  });
  afterAll(async () => {
    await Promise.all(open.map((rt) => rt.close()));
    await t.close();
    await store.close();
    await drop();
  });

  async function deploy(
    over: { alias?: number; challenger?: Deployment['challenger'] } = {},
  ): Promise<{ d: Deployment; alias: string }> {
    const alias = `a${Math.random().toString(36).slice(2, 8)}`;
    await t.services.registry.aliases.set({ actor: admin, model, alias, version: over.alias ?? 1 });
    const c = over.challenger;
    const d = await t.services.serving.deployments.create({
      actor: 'ada',
      name: uniq('dep'),
      model: `${model}@${alias}`,
      ...(c
        ? { challenger: { ref: c.ref, mode: c.mode, ...(c.percent !== null ? { percent: c.percent } : {}) } }
        : {}),
    });
    return { d, alias };
  }

  async function start(
    d: Deployment,
    metrics: ServingMetrics = createServingMetrics(),
    openModel?: (bytes: Uint8Array, v: ModelVersion) => ReturnType<typeof openServingModel>,
  ): Promise<DeploymentRuntime> {
    const rt = await createDeploymentRuntime({
      deployment: d,
      registry: t.services.registry,
      ledger: openPredictionLedger({ store, clock: systemClock, mode: d.ledgerMode }),
      metrics,
      clock: systemClock,
      pollIntervalMs: 0,
      ...(openModel ? { openModel } : {}),
    });
    open.push(rt);
    return rt;
  }

  const logged = (ids: string[]) =>
    store.db.selectFrom('predictions').selectAll().where('id', 'in', ids).execute();

  it('a promotion swaps the model while requests run: none fails, each is answered by one version and logged', async () => {
    const { d, alias } = await deploy();
    const metrics = createServingMetrics();
    const rt = await start(d, metrics);
    const calls: Promise<PredictResult>[] = [];
    for (let i = 0; i < 20; i++) calls.push(rt.predict([ROW]));
    await t.services.registry.aliases.set({ actor: admin, model, alias, version: 2 });
    let swapped = false;
    const refresh = rt.refresh().then(() => {
      swapped = true;
    });
    // Keep requests arriving while the new version loads and takes over.
    while (!swapped) {
      calls.push(rt.predict({ instances: [ROW, ROW] }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await refresh;
    for (let i = 0; i < 5; i++) calls.push(rt.predict([ROW]));
    const results = await Promise.allSettled(calls);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const items = results.flatMap((r) => (r as PromiseFulfilledResult<PredictResult>).value.items);
    for (const item of items) expect(scoreOf(item.prediction)).toBeCloseTo(expectedScore(item.version), 5);
    const versions = new Set(items.map((i) => i.version));
    expect(versions).toEqual(new Set([1, 2]));
    expect(items.slice(-5).map((i) => i.version)).toEqual([2, 2, 2, 2, 2]);
    expect(rt.serving().champion.version).toBe(2);

    const rows = await logged(items.map((i) => i.prediction_id));
    expect(rows).toHaveLength(items.length);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const item of items) {
      const row = byId.get(item.prediction_id)!;
      expect(row.version).toBe(item.version);
      expect(row.alias).toBe(alias);
      expect(row.deployment_id).toBe(d.id);
      expect(row.role).toBe('champion');
    }
    expect(await metrics.text()).toMatch(
      new RegExp(`sextant_model_swaps_total\\{deployment="${d.name}"\\} 1`),
    );
  });

  it('a version that fails to load leaves the previous one serving', async () => {
    const { d, alias } = await deploy();
    const metrics = createServingMetrics();
    const rt = await start(d, metrics);
    await t.services.registry.aliases.set({ actor: admin, model, alias, version: 3 });
    await rt.refresh();
    const { items } = await rt.predict([ROW]);
    expect(items[0]?.version).toBe(1);
    expect(rt.ready()).toBe(true);
    expect(await metrics.text()).toMatch(
      new RegExp(`sextant_model_load_failures_total\\{deployment="${d.name}",model_version="3"\\} 1`),
    );
    // Moving on to a good version works again.
    await t.services.registry.aliases.set({ actor: admin, model, alias, version: 2 });
    await rt.refresh();
    expect((await rt.predict([ROW])).items[0]?.version).toBe(2);
  });

  it('a shadow challenger gets a copy of each request: its output is logged, never returned', async () => {
    const { d } = await deploy({ challenger: { ref: '2', mode: 'shadow', percent: null } });
    const rt = await start(d);
    const { items } = await rt.predict([ROW, ROW]);
    expect(items.map((i) => i.version)).toEqual([1, 1]);
    expect(JSON.stringify(items)).not.toContain(String(expectedScore(2)).slice(0, 8));
    const rows = await logged(items.map((i) => i.prediction_id));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.shadow_version_id).toBe(rt.serving().challenger?.id);
      expect(row.shadow_error).toBeNull();
      const shadow = JSON.parse(row.shadow_outputs!) as { prediction: number };
      expect(Number(shadow.prediction)).toBeCloseTo(expectedScore(2), 5);
    }
  });

  it('a failing shadow never fails the request; its error is logged with the prediction', async () => {
    const { d } = await deploy({ challenger: { ref: '2', mode: 'shadow', percent: null } });
    const metrics = createServingMetrics();
    const rt = await start(d, metrics, async (bytes, v) => {
      const m = await openServingModel(bytes, v);
      if (v.version !== 2) return m;
      return { ...m, predict: async () => Promise.reject(new Error('challenger exploded')) };
    });
    const { items } = await rt.predict([ROW]);
    expect(scoreOf(items[0]!.prediction)).toBeCloseTo(expectedScore(1), 5);
    const [row] = await logged([items[0]!.prediction_id]);
    expect(row?.shadow_outputs).toBeNull();
    expect(row?.shadow_error).toContain('challenger exploded');
    expect(await metrics.text()).toMatch(
      new RegExp(`sextant_predict_errors_total\\{deployment="${d.name}",code="SHADOW_FAILED"\\} 1`),
    );
  });

  it('a canary answers about its share of request keys, and always the same keys', async () => {
    const { d } = await deploy({ challenger: { ref: '2', mode: 'canary', percent: 30 } });
    const rt = await start(d);
    const keys = Array.from({ length: 300 }, (_, i) => `customer-${i}`);
    const first = await Promise.all(keys.map((k) => rt.predict([ROW], { requestKey: k })));
    const again = await Promise.all(keys.map((k) => rt.predict([ROW], { requestKey: k })));
    const sides = first.map((r) => r.items[0]!.version);
    expect(again.map((r) => r.items[0]!.version)).toEqual(sides);
    const share = sides.filter((v) => v === 2).length / keys.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);
    // The side follows the key's bucket, and the log says who answered.
    expect(sides).toEqual(keys.map((k) => (canaryBucket(k) < 3000 ? 2 : 1)));
    const canaryItem = first.find((r) => r.items[0]!.version === 2)!.items[0]!;
    const [row] = await logged([canaryItem.prediction_id]);
    expect(row?.role).toBe('challenger');
    expect(row?.request_key).toMatch(/^customer-/);
    expect(scoreOf(canaryItem.prediction)).toBeCloseTo(expectedScore(2), 5);
  });

  it('counts requests, predictions, errors and latency per deployment and version', async () => {
    const { d } = await deploy();
    const metrics = createServingMetrics();
    const rt = await start(d, metrics);
    await rt.predict([ROW, ROW, ROW]);
    await expect(rt.predict([[1, 2]])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    // What the heartbeat persists: the same counts, outliving the process.
    expect(rt.counts()).toEqual({ ok: 1, failed: 1, byCode: { VALIDATION_FAILED: 1 } });
    const text = await metrics.text();
    const n = d.name;
    expect(text).toContain(`sextant_predict_requests_total{deployment="${n}",status="200"} 1`);
    expect(text).toContain(`sextant_predict_requests_total{deployment="${n}",status="400"} 1`);
    expect(text).toContain(
      `sextant_predictions_total{deployment="${n}",model_version="1",role="champion"} 3`,
    );
    expect(text).toContain(`sextant_predict_errors_total{deployment="${n}",code="VALIDATION_FAILED"} 1`);
    expect(text).toContain(`sextant_predict_latency_seconds_count{deployment="${n}",model_version="1"} 1`);
    expect(text).toContain(`sextant_ledger_pending{deployment="${n}"} 0`);
    // The request's three records went to the log in one group commit.
    expect(text).toContain(`sextant_ledger_rows_total{deployment="${n}"} 3`);
    expect(text).toContain(`sextant_ledger_commits_total{deployment="${n}"} 1`);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('close waits for in-flight requests, then refuses new ones', async () => {
    const { d } = await deploy();
    const rt = await start(d);
    const running = Array.from({ length: 10 }, () => rt.predict([ROW]));
    const closed = rt.close();
    expect(rt.ready()).toBe(false);
    await expect(rt.predict([ROW])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const results = await Promise.all(running);
    await closed;
    expect(await logged(results.map((r) => r.items[0]!.prediction_id))).toHaveLength(10);
  });
});
