import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { systemClock } from '../../src/core/clock.js';
import { CREDIT_TARGET, defaultProbability, generateCreditData } from '../../src/ml/index.js';
import {
  type MetricPoint,
  MetricPointSchema,
  monitorReferenceSchema,
  monitorRunResultSchema,
  monitorSchema,
} from '../../src/monitoring/index.js';
import type { ModelVersion } from '../../src/registry/index.js';
import { promotionRequestSchema } from '../../src/registry/index.js';
import { openPredictionLedger } from '../../src/serving/ledger/index.js';
import { makeRecord } from '../../src/serving/ledger/ledger-fixtures.contract.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { nativeErrorSchema, uniq } from './helpers.js';
import { buildChain, type Chain } from './serving-chain.js';

/*
 * Monitors on a real deployment: a model trained on a dataset version (its stored profiles are the
 * reference), predictions logged through the ledger over two hours (the second one drifted: younger,
 * poorer applicants), delayed labels through feedback, then runs through the API and the CLI.
 */

const T0 = Date.UTC(2026, 5, 1);
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

const SPEC = `
name: credit-watch
window: 1h
drift:
  minRows: 30
label:
  positive: 1
protected:
  attribute: sex
  minGroupSize: 20
`;

const runReply = z.object({ results: z.array(monitorRunResultSchema) });

describeEachBackend('monitors on a deployment', (getStore) => {
  let t: TestApp;
  let chain: Chain;
  let v1: ModelVersion;
  let v2: ModelVersion;
  const deployment = uniq('credit-live');

  const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
    payload === undefined ? t.app.inject({ method, url }) : t.app.inject({ method, url, payload });

  /** Logs `rows` predictions of one version between start and start + 1h; labels every other one. */
  async function logHour(
    start: number,
    drift: number,
    seed: number,
    version: ModelVersion,
    role: 'champion' | 'challenger',
    labelOf: (label: number) => number | string = (l) => l,
    shadow?: ModelVersion,
  ) {
    const ledger = openPredictionLedger({ store: getStore(), clock: systemClock });
    const data = generateCreditData({ rows: 200, seed, covariateDrift: drift });
    const ids: { id: string; label: number }[] = [];
    const d = await t.services.serving.deployments.get(deployment);
    for (const [i, row] of data.rows.entries()) {
      const { [CREDIT_TARGET]: label, ...inputs } = row;
      const p = defaultProbability(row);
      const r = makeRecord({
        deploymentId: d.id,
        modelVersionId: version.id,
        model: version.model,
        version: version.version,
        role,
        alias: role === 'champion' ? 'champion' : null,
        servedAt: start + i * 15_000,
        inputs,
        outputs: { prediction: p >= 0.5 ? 1 : 0, probabilities: { '0': 1 - p, '1': p } },
        // A shadow challenger answers the same inputs less confidently (its answers are logged on the row).
        shadow: shadow
          ? {
              modelVersionId: shadow.id,
              outputs: { prediction: p >= 0.6 ? 1 : 0, probabilities: { '0': 1 - p * 0.8, '1': p * 0.8 } },
              error: null,
            }
          : null,
      });
      await ledger.append(r);
      if (i % 2 === 0) ids.push({ id: r.id, label: Number(label) });
    }
    await ledger.close();
    const out = await t.services.serving.feedback.submit({
      actor: chain.editor,
      items: ids.map((x) => ({ prediction_id: x.id, label: labelOf(x.label) })),
    });
    expect(out.every((o) => o.status === 'recorded')).toBe(true);
  }

  beforeAll(async () => {
    t = await createTestApp(getStore());
    chain = await buildChain(t.services);
    v1 = (await chain.train(1)).version;
    await chain.promote(1, 'first model');
    await t.services.serving.deployments.create({
      actor: chain.editor,
      name: deployment,
      model: `${chain.model}@champion`,
    });
    await logHour(T0, 0, 11, v1, 'champion');
    await logHour(T0 + HOUR, 1, 12, v1, 'champion');
    v2 = (await chain.train(2)).version;
  }, 120_000);
  afterAll(async () => {
    chain?.cleanup();
    await t?.close();
  });

  let monitorId = '';
  it('creates a monitor from YAML; the same spec again is the same version, another spec the next', async () => {
    const res = await inject('POST', '/api/v1/monitors', { deployment, spec: SPEC });
    expect(res.statusCode).toBe(201);
    const m = monitorSchema.parse(res.json());
    expect(m).toMatchObject({ name: 'credit-watch', deployment, version: 1 });
    monitorId = m.id;
    const again = monitorSchema.parse(
      (await inject('POST', '/api/v1/monitors', { deployment, spec: SPEC })).json(),
    );
    expect(again).toMatchObject({ id: m.id, version: 1 });
    const changed = `${SPEC}estimation: true\ndetectors: [ddm, page_hinkley]\nperformance: [accuracy, roc_auc, f1]\n`;
    const next = monitorSchema.parse(
      (await inject('POST', '/api/v1/monitors', { deployment, spec: changed })).json(),
    );
    expect(next).toMatchObject({ id: m.id, version: 2 });
    const audit = await t.services.audit.list({ entityId: m.id });
    expect(audit.map((e) => e.action).sort()).toEqual(['monitor.created', 'monitor.updated']);
  });

  it('a YAML with an unknown key, a threshold out of range or an unknown metric is a 400 naming the field', async () => {
    const cases: [string, string][] = [
      [`${SPEC}windw: 2h\n`, 'spec.windw'],
      ['name: x\ndrift:\n  thresholds: { psi: -1 }\n', 'spec.drift.thresholds.psi'],
      ['name: x\ndrift:\n  minRows: 0\n', 'spec.drift.minRows'],
      ['name: x\nwindow: 5 hours\n', 'spec.window'],
      ['name: x\nperformance: [accuracy, happiness]\n', 'spec.performance[1]'],
      ['name: x\nfeatures: [age, shoe_size]\n', 'spec.features'],
    ];
    for (const [spec, field] of cases) {
      const res = await inject('POST', '/api/v1/monitors', { deployment, spec });
      expect(res.statusCode, spec).toBe(400);
      const body = nativeErrorSchema.parse(res.json());
      expect(body.error.details?.field, spec).toBe(field);
    }
  });

  let drifted: MetricPoint[] = [];
  it('a drifted hour: skew against the training profiles and drift against the previous hour, reported apart', async () => {
    const res = await inject('POST', '/api/v1/monitors/run', {
      deployment,
      from: iso(T0 + HOUR),
      to: iso(T0 + 2 * HOUR),
    });
    expect(res.statusCode).toBe(200);
    const [result] = runReply.parse(res.json()).results;
    drifted = result?.points ?? [];
    expect(result?.run).toMatchObject({ status: 'completed', rows: 200, points: drifted.length });
    const one = (metric: string, feature: string | null, slice: string | null = null) =>
      drifted.find((p) => p.metric === metric && p.feature === feature && p.slice === slice);
    // Younger applicants than in training and than an hour ago: both comparisons see it.
    const skewAge = drifted.find(
      (p) => p.metric.startsWith('skew.') && p.metric !== 'skew.psi' && p.feature === 'age',
    );
    const driftAge = drifted.find(
      (p) => p.metric.startsWith('drift.') && p.metric !== 'drift.psi' && p.feature === 'age',
    );
    expect(skewAge?.status).toBe('alert');
    expect(skewAge?.details.reference).toMatch(new RegExp(`training ${chain.credit}@1`));
    expect(driftAge?.status).toBe('alert');
    expect(driftAge?.details.reference).toMatch(/previous window \(200 rows\)/);
    expect(one('skew.share', null)?.status).toBe('alert');
    expect(one('drift.psi', 'age')?.value).toBeGreaterThan(0.1);
    // Prediction drift is measured too, but is not one of the inputs of the drift share.
    expect(drifted.some((p) => p.metric.startsWith('drift.') && p.feature === 'prediction')).toBe(true);
    // Live quality against the training profile: ages below the training minimum.
    expect(one('quality.null_share', 'age')?.value).toBe(0);
    // Performance from the delayed labels: half the rows are labelled.
    expect(one('performance.label_coverage', null)?.value).toBe(0.5);
    const acc = one('performance.accuracy', null);
    expect(acc?.status).toBe('ok');
    expect(acc?.value).toBeGreaterThan(0.5);
    expect(acc?.details.labelled).toBe(100);
    // Per group of the protected attribute.
    expect(drifted.some((p) => p.metric === 'performance.accuracy' && p.slice?.startsWith('sex='))).toBe(
      true,
    );
    // Fairness per group of the protected attribute (Clarify), detectors and CBPE estimates.
    const dppl = drifted.filter((p) => p.metric === 'fairness.dppl');
    expect(dppl.map((p) => p.slice).sort()).toEqual(['sex=female', 'sex=male']);
    expect(dppl.every((p) => p.status !== 'insufficient_data' && typeof p.value === 'number')).toBe(true);
    expect(one('concept.ddm', null)?.details.rows).toBe(100);
    expect(one('concept.page_hinkley', null)).toBeDefined();
    expect(drifted.some((p) => p.metric === 'estimate.accuracy')).toBe(true);
    for (const p of drifted) MetricPointSchema.parse(p);
  });

  it('skew points carry compact histograms (counts summing to the rows) and the report draws them', async () => {
    const skewAge = drifted.find(
      (p) => p.metric.startsWith('skew.') && p.metric !== 'skew.psi' && p.feature === 'age',
    );
    const h = z
      .object({
        bins: z.array(z.string()),
        reference: z.array(z.number()),
        current: z.array(z.number()),
        edges: z.array(z.number()),
      })
      .parse(skewAge?.details.histogram);
    expect(h.bins.length).toBeGreaterThan(1);
    expect(h.bins.length).toBeLessThanOrEqual(20);
    expect(h.edges).toHaveLength(h.bins.length + 1);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(h.current)).toBe(skewAge?.details.currentRows);
    expect(sum(h.current)).toBe(200);
    expect(sum(h.reference)).toBe(skewAge?.details.referenceRows);
    // A categorical feature: its categories (at most 20, the rest as "(other)").
    const skewSex = drifted.find((p) => p.metric.startsWith('skew.') && p.feature === 'sex');
    const hs = skewSex?.details.histogram as { bins: string[]; current: number[] };
    expect(hs.bins).toEqual(expect.arrayContaining(['female', 'male']));
    expect(sum(hs.current)).toBe(skewSex?.details.currentRows);

    const html = await t.services.monitoringReport.html({ deployment });
    const section = html.split('<section>').find((s) => s.startsWith('<h3>age '));
    expect(section).toBeDefined();
    expect(section).not.toContain('No histogram stored');
    expect(section).toMatch(/<svg[^>]*>.*<title>[^<]*: reference [0-9.]+<\/title>/s);
    expect(section).toContain(`<title>${h.bins[0]}: current`);
  });

  it('the reference is stored with the monitor version and model version, from the stored profiles', async () => {
    const res = await inject('GET', `/api/v1/monitors/${monitorId}/references`);
    const refs = z.object({ references: z.array(monitorReferenceSchema) }).parse(res.json()).references;
    expect(refs).toHaveLength(1);
    expect(refs[0]).toMatchObject({
      monitorVersion: 2,
      modelVersionId: v1.id,
      source: 'training',
      sourceRef: `${chain.credit}@1`,
      rowCount: 300,
    });
    expect(refs[0]?.columns).toContain('age');
  });

  it('an hour like the training data raises no skew alert (no false alarm)', async () => {
    const res = await inject('POST', '/api/v1/monitors/run', {
      deployment,
      from: iso(T0),
      to: iso(T0 + HOUR),
    });
    const points = runReply.parse(res.json()).results[0]?.points ?? [];
    expect(points.find((p) => p.metric === 'skew.share')?.status).toBe('ok');
    expect(points.find((p) => p.metric === 'skew.share')?.value).toBeLessThan(0.5);
  });

  it('labels of the wrong type are named, and performance answers insufficient_data', async () => {
    await logHour(T0 + 7 * HOUR, 0, 14, v1, 'champion', (l) => (l === 1 ? 'yes' : 'no'));
    const res = await inject('POST', '/api/v1/monitors/run', {
      deployment,
      from: iso(T0 + 7 * HOUR),
      to: iso(T0 + 8 * HOUR),
    });
    const points = runReply.parse(res.json()).results[0]?.points ?? [];
    const acc = points.find((p) => p.metric === 'performance.accuracy' && p.slice === null);
    expect(acc).toMatchObject({ value: null, status: 'insufficient_data' });
    expect(acc?.details.reason).toMatch(
      /label "(yes|no)" of pred_\w+ is not one of the model's classes \(0, 1\)/,
    );
  });

  it('an hour without traffic answers insufficient_data and never alerts', async () => {
    const res = await inject('POST', '/api/v1/monitors/run', {
      deployment,
      from: iso(T0 + 5 * HOUR),
      to: iso(T0 + 6 * HOUR),
    });
    const points = runReply.parse(res.json()).results[0]?.points ?? [];
    expect(points.length).toBeGreaterThan(0);
    expect(
      points.every(
        (p) => (p.status === 'insufficient_data' && p.value === null) || p.metric === 'traffic.rows',
      ),
    ).toBe(true);
    expect(points.find((p) => p.metric === 'traffic.rows')).toMatchObject({
      value: 0,
      status: 'insufficient_data',
    });
  });

  it('a window with fewer rows than minRows answers insufficient_data per feature, with the counts', async () => {
    // Ten minutes: 40 rows now against 40 rows before; minRows 100.
    const m = monitorSchema.parse(
      (
        await inject('POST', '/api/v1/monitors', {
          deployment,
          spec: 'name: strict\nwindow: 10m\ndrift: { minRows: 100 }\n',
        })
      ).json(),
    );
    const res = await inject('POST', `/api/v1/monitors/${m.id}/runs`, {
      from: iso(T0 + HOUR),
      to: iso(T0 + HOUR + 600_000),
    });
    const { points } = monitorRunResultSchema.parse(res.json());
    const drift = points.filter((p) => p.metric.startsWith('drift.') || p.metric.startsWith('skew.'));
    expect(drift.length).toBeGreaterThan(0);
    expect(drift.every((p) => p.status === 'insufficient_data')).toBe(true);
    expect(drift.find((p) => p.feature === 'age')?.details.reason).toMatch(/^too_few/);
    await inject('DELETE', `/api/v1/monitors/${m.id}`);
  });

  it('series are read by monitor, metric, feature and time range', async () => {
    const res = await inject(
      'GET',
      `/api/v1/monitors/series?monitorId=${monitorId}&metric=performance.accuracy&since=${encodeURIComponent(iso(T0))}&until=${encodeURIComponent(iso(T0 + 3 * HOUR))}`,
    );
    const points = z.object({ points: z.array(MetricPointSchema) }).parse(res.json()).points;
    expect(points.length).toBeGreaterThan(0);
    expect(points.every((p) => p.metric === 'performance.accuracy')).toBe(true);
    // The hours run so far inside [T0, T0 + 3h): the first (no drift) and the drifted one.
    expect([...new Set(points.map((p) => p.windowStart))].sort((a, b) => a - b)).toEqual([T0, T0 + HOUR]);
    const ages = await inject(
      'GET',
      `/api/v1/monitors/series?monitorId=${monitorId}&metricPrefix=skew.&feature=age`,
    );
    const agePoints = z.object({ points: z.array(MetricPointSchema) }).parse(ages.json()).points;
    expect(agePoints.length).toBeGreaterThan(0);
    expect(agePoints.every((p) => p.feature === 'age' && p.metric.startsWith('skew.'))).toBe(true);
    const none = await inject(
      'GET',
      `/api/v1/monitors/series?monitorId=${monitorId}&metric=performance.accuracy&until=${encodeURIComponent(iso(T0))}`,
    );
    expect(z.object({ points: z.array(MetricPointSchema) }).parse(none.json()).points).toEqual([]);
  });

  it("a drift gate answers from the challenger's monitored canary traffic: no_data, fail, then pass", async () => {
    const gateOf = async (max: number, gate = `drift: { metric: share, max: ${max} }`) => {
      await t.services.registry.policies.set({
        actor: { name: 'admin', role: 'admin' },
        model: chain.model,
        yaml: `protectedAliases: [champion]\napprovals: 1\ngates:\n  - ${gate}\n`,
      });
      const req = promotionRequestSchema.parse(
        await t.services.registry.promotions.open({
          actor: { name: chain.editor, role: 'editor' },
          ref: `${chain.model}@${v2.version}`,
          alias: 'champion',
          reason: `gate at ${max}`,
        }),
      );
      // A request whose gates fail is blocked already; one that passes is cancelled so the next may open.
      if (req.status === 'pending')
        await t.services.registry.promotions.cancel({ actor: { name: 'admin', role: 'admin' }, id: req.id });
      return req.openGates[0];
    };
    expect((await gateOf(0.5))?.status).toBe('no_data');
    // The challenger answers part of the drifted traffic (canary).
    await logHour(T0 + 2 * HOUR, 1, 13, v2, 'challenger');
    await inject('POST', '/api/v1/monitors/run', {
      deployment,
      from: iso(T0 + 2 * HOUR),
      to: iso(T0 + 3 * HOUR),
    });
    const failed = await gateOf(0.5);
    expect(failed?.status).toBe('fail');
    expect((failed?.observed as { value: number } | undefined)?.value).toBeGreaterThanOrEqual(0.5);
    expect((await gateOf(1))?.status).toBe('pass');
    // The fairness gate reads Clarify's DPPL of the challenger's traffic (the largest |DPPL| of its groups).
    const fair = await gateOf(1, 'fairness: { metric: demographic_parity_difference, max: 1 }');
    expect(fair?.status).toBe('pass');
    expect((fair?.observed as { value: number } | undefined)?.value).toBeGreaterThanOrEqual(0);
  });

  it("a shadow challenger is measured on its own answers, apart from the champion's", async () => {
    await logHour(T0 + 9 * HOUR, 0, 15, v1, 'champion', (l) => l, v2);
    const res = await inject('POST', '/api/v1/monitors/run', {
      deployment,
      from: iso(T0 + 9 * HOUR),
      to: iso(T0 + 10 * HOUR),
    });
    const points = runReply.parse(res.json()).results[0]?.points ?? [];
    const rows = points.filter((p) => p.metric === 'traffic.rows');
    expect(rows.map((p) => [p.modelVersionId, p.value, p.details.role]).sort()).toEqual(
      [
        [v1.id, 200, 'champion'],
        [v2.id, 200, 'shadow'],
      ].sort(),
    );
    // The same labels judge both: each version's accuracy is its own.
    const acc = (id: string) =>
      points.find((p) => p.metric === 'performance.accuracy' && p.slice === null && p.modelVersionId === id);
    expect(acc(v1.id)?.value).not.toBe(acc(v2.id)?.value);
  });

  it('a reference from early traffic: its first rows, stored with raw values, outputs compared too', async () => {
    const m = monitorSchema.parse(
      (
        await inject('POST', '/api/v1/monitors', {
          deployment,
          spec: 'name: early\nreference: { source: traffic, rows: 150 }\n',
        })
      ).json(),
    );
    const res = await inject('POST', `/api/v1/monitors/${m.id}/runs`, {
      from: iso(T0 + HOUR),
      to: iso(T0 + 2 * HOUR),
    });
    const { points } = monitorRunResultSchema.parse(res.json());
    const refs = z
      .object({ references: z.array(monitorReferenceSchema) })
      .parse((await inject('GET', `/api/v1/monitors/${m.id}/references`)).json()).references;
    expect(refs[0]).toMatchObject({ source: 'traffic', rowCount: 150, modelVersionId: v1.id });
    expect(refs[0]?.sourceRef).toMatch(/^first 150 rows \[/);
    const age = points.find(
      (p) => p.metric.startsWith('skew.') && p.metric !== 'skew.psi' && p.feature === 'age',
    );
    expect(age).toMatchObject({ status: 'alert' });
    expect(age?.details.approximate).toBe(false);
    expect(points.some((p) => p.metric.startsWith('skew.') && p.feature === 'prediction')).toBe(true);
    await inject('DELETE', `/api/v1/monitors/${m.id}`);
  });

  it('sextant monitor run prints the table; monitors ls / show / rm', async () => {
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const env = { SEXTANT_HOME: t.config.home, SEXTANT_URL: url };
    const run = await cli(
      env,
      'monitor',
      'run',
      deployment,
      '--monitor',
      'credit-watch',
      '--from',
      iso(T0 + HOUR),
      '--to',
      iso(T0 + 2 * HOUR),
    );
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/FEATURE\s+TEST\s+VALUE\s+THRESHOLD\s+STATUS/);
    expect(run.out).toMatch(/age\s+skew\.\w+\s+[\d.e-]+\s+\S+.*alert/);
    const ls = await cli(env, 'monitors', 'ls', '--deployment', deployment);
    expect(ls.out).toContain('credit-watch');
    const show = await cli(env, 'monitors', 'show', monitorId);
    expect(show.out).toContain(`${chain.credit}@1`);
    const missing = await cli(env, 'monitors', 'show', 'mon_00000000000000000000000000');
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/monitor/);
    const rm = await cli(env, 'monitors', 'rm', monitorId);
    expect(rm.code).toBe(0);
    expect((await cli(env, 'monitors', 'ls', '--deployment', deployment)).out).not.toContain('credit-watch');
  });
});
