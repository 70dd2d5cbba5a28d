import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { CREDIT_TARGET, defaultProbability, generateCreditData } from '../../src/ml/index.js';
import { datasetFairnessSchema, type MetricPoint } from '../../src/monitoring/index.js';
import type { ModelVersion } from '../../src/registry/index.js';
import { openPredictionLedger } from '../../src/serving/ledger/index.js';
import { makeRecord } from '../../src/serving/ledger/ledger-fixtures.contract.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { uniq } from './helpers.js';
import { buildChain, type Chain } from './serving-chain.js';

/*
 * Monitoring state that outlives a run: concept-drift detectors resume where the previous window left
 * them (two consecutive windows find the change where one run over both does), on a real deployment
 * whose second hour of labels disagrees with the model (a concept change at a known row).
 */

const T0 = Date.UTC(2026, 6, 1);
const HOUR = 3_600_000;

const spec = (name: string, window: string) => `
name: ${name}
window: ${window}
drift:
  minRows: 30
label:
  positive: 1
detectors: [ddm, page_hinkley, adwin]
`;

describeEachBackend('monitor state across runs', (getStore) => {
  let t: TestApp;
  let chain: Chain;
  let v1: ModelVersion;
  const deployment = uniq('credit-state');

  /** 200 predictions over an hour, every one labelled: true labels, or the opposite of the answer. */
  async function logHour(start: number, seed: number, flipped: boolean) {
    const ledger = openPredictionLedger({ store: getStore(), clock: systemClock });
    const data = generateCreditData({ rows: 200, seed });
    const d = await t.services.serving.deployments.get(deployment);
    const items: { prediction_id: string; label: number }[] = [];
    for (const [i, row] of data.rows.entries()) {
      const { [CREDIT_TARGET]: label, ...inputs } = row;
      const p = defaultProbability(row);
      const prediction = p >= 0.5 ? 1 : 0;
      const r = makeRecord({
        deploymentId: d.id,
        modelVersionId: v1.id,
        model: v1.model,
        version: v1.version,
        role: 'champion',
        alias: 'champion',
        servedAt: start + i * 15_000,
        inputs,
        outputs: { prediction, probabilities: { '0': 1 - p, '1': p } },
        shadow: null,
      });
      await ledger.append(r);
      items.push({ prediction_id: r.id, label: flipped ? 1 - prediction : Number(label) });
    }
    await ledger.close();
    await t.services.serving.feedback.submit({ actor: chain.editor, items });
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
    await logHour(T0, 21, false);
    await logHour(T0 + HOUR, 22, true);
  }, 120_000);
  afterAll(async () => {
    chain?.cleanup();
    await t?.close();
  });

  const run = async (monitor: string, from: number, to: number) => {
    const [r] = await t.services.monitoring.runDeployment({
      actor: chain.editor,
      deployment,
      monitor,
      from,
      to,
    });
    return r?.points ?? [];
  };
  const detector = (ps: MetricPoint[], kind: string) => ps.find((p) => p.metric === `concept.${kind}`);

  it('detectors resume from their stored state: two consecutive windows detect where one run over both does', async () => {
    await t.services.monitoring.monitors.create({
      actor: chain.editor,
      deployment,
      spec: spec('whole', '2h'),
    });
    await t.services.monitoring.monitors.create({
      actor: chain.editor,
      deployment,
      spec: spec('hourly', '1h'),
    });
    const whole = await run('whole', T0, T0 + 2 * HOUR);
    const first = await run('hourly', T0, T0 + HOUR);
    const second = await run('hourly', T0 + HOUR, T0 + 2 * HOUR);
    for (const kind of ['ddm', 'page_hinkley', 'adwin']) {
      const all = detector(whole, kind)?.details;
      const a = detector(first, kind)?.details;
      const b = detector(second, kind)?.details;
      expect(all?.rows).toBe(400);
      expect(b).toMatchObject({ resumed: true, offset: 200, detectorRows: all?.detectorRows });
      const split = [...((a?.drifts ?? []) as number[]), ...((b?.drifts ?? []) as number[])];
      expect(split).toEqual(all?.drifts);
    }
    // The labels turn at row 200: DDM finds it in the second window, at the same global row.
    const ddm = detector(second, 'ddm');
    expect(ddm?.status).toBe('alert');
    expect(((ddm?.details.drifts ?? []) as number[])[0]).toBeGreaterThanOrEqual(200);

    // A re-run of the first hour starts fresh and leaves the stored state alone.
    const again = await run('hourly', T0, T0 + HOUR);
    expect(detector(again, 'ddm')?.details).toMatchObject({ resumed: false, offset: 0 });
    const third = await run('hourly', T0 + 2 * HOUR, T0 + 3 * HOUR);
    // No traffic in the third hour: nothing fed, and the state is still the second run's.
    expect(detector(third, 'ddm')).toBeUndefined();
  });

  it('CBPE is calibrated on the training rows scored through the model, stored with the reference; realised beside it', async () => {
    await t.services.monitoring.monitors.create({
      actor: chain.editor,
      deployment,
      spec: `${spec('estimates', '1h')}estimation: true\n`,
    });
    const points = await run('estimates', T0, T0 + HOUR);
    const acc = points.find((p) => p.metric === 'estimate.accuracy');
    expect(acc?.status).not.toBe('insufficient_data');
    expect(acc?.details).toMatchObject({ calibratedOn: 'training', realisedLabelled: 200 });
    expect(acc?.details.reference).toMatch(new RegExp(`^${chain.credit}@1:.* \\(300 rows\\)$`));
    expect(acc?.details.fallbackReason).toBeUndefined();
    // Every row of the first hour is labelled with its true label: the realised accuracy is beside it.
    const realised = points.find((p) => p.metric === 'performance.accuracy')?.value;
    expect(acc?.details.realised).toBeCloseTo(realised as number, 10);
    // Stored once with the reference: the next window estimates with the same calibration.
    const monitor = (await t.services.monitoring.monitors.list({ deployment })).find(
      (m) => m.name === 'estimates',
    );
    const refs = await t.services.monitoring.monitors.references(monitor!.id);
    expect(refs).toHaveLength(1);
    const next = await run('estimates', T0 + HOUR, T0 + 2 * HOUR);
    const acc2 = next.find((p) => p.metric === 'estimate.accuracy');
    expect(acc2?.details.referenceMean).toBe(acc?.details.referenceMean);
    // The second hour's labels disagree with the model: realised far below the estimate, outside its band.
    expect(acc2?.details.realised).toBeLessThan(0.2);
    expect(acc2?.details.withinBand).toBe(false);
  });

  it('a traffic reference calibrates CBPE on the labelled early traffic, saying why', async () => {
    await t.services.monitoring.monitors.create({
      actor: chain.editor,
      deployment,
      spec: `${spec('early', '1h')}estimation: true\nreference:\n  source: traffic\n  rows: 200\n`,
    });
    const points = await run('early', T0 + HOUR, T0 + 2 * HOUR);
    const acc = points.find((p) => p.metric === 'estimate.accuracy');
    expect(acc?.status).not.toBe('insufficient_data');
    expect(acc?.details).toMatchObject({ calibratedOn: 'traffic' });
    expect(acc?.details.reference).toMatch(/^first 200 labelled rows \[/);
    expect(acc?.details.fallbackReason).toMatch(/early traffic \(no training rows to score\)/);
  });

  it('pre-training fairness of the training dataset: CI and DPL per group with group sizes, via API and CLI', async () => {
    const url = (q: string) =>
      `/api/v1/monitors/fairness?dataset=${chain.credit}@1&attribute=sex&label=defaulted${q}`;
    const res = await t.app.inject({ method: 'GET', url: url('&positive=1') });
    expect(res.statusCode).toBe(200);
    const r = datasetFairnessSchema.parse(res.json());
    expect(r).toMatchObject({ dataset: `${chain.credit}@1`, rows: 300, excludedRows: 0, minGroupSize: 30 });
    expect(r.groups.map((g) => g.slice).sort()).toEqual(['sex=female', 'sex=male']);
    const female = r.groups.find((g) => g.value === 'female')!;
    const male = r.groups.find((g) => g.value === 'male')!;
    expect(female.size + male.size).toBe(300);
    expect(female.restSize).toBe(male.size);
    // Clarify: CI = (n_a - n_d) / (n_a + n_d); DPL = q_a - q_d (shares of positive labels).
    expect(female.metrics.CI.value).toBeCloseTo((male.size - female.size) / 300, 12);
    expect(female.metrics.DPL.value).toBeCloseTo(
      male.positives / male.size - female.positives / female.size,
      12,
    );
    expect(male.metrics.DPL.value).toBeCloseTo(-(female.metrics.DPL.value as number), 12);
    // Groups under the minimum group size answer insufficient data, never a number.
    const small = datasetFairnessSchema.parse(
      (await t.app.inject({ method: 'GET', url: url('&positive=1&minGroupSize=200') })).json(),
    );
    expect(
      small.groups.every((g) => g.metrics.CI.status === 'insufficient_data' && g.metrics.CI.value === null),
    ).toBe(true);
    expect(small.groups[0]?.metrics.CI.reason).toMatch(/group_too_small/);
    // A column the table lacks is a 400 naming the field.
    const bad = await t.app.inject({
      method: 'GET',
      url: `${url('')}`.replace('attribute=sex', 'attribute=nope'),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('attribute');

    const listening = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const env = { SEXTANT_HOME: t.config.home, SEXTANT_URL: listening };
    const out = await cli(
      env,
      'monitors',
      'fairness',
      `${chain.credit}@1`,
      '--attribute',
      'sex',
      '--label',
      'defaulted',
      '--positive',
      '1',
    );
    expect(out.code).toBe(0);
    expect(out.out).toMatch(/GROUP\s+N\s+REST N\s+POSITIVES\s+CI\s+DPL/);
    expect(out.out).toMatch(
      new RegExp(`sex=female\\s+${female.size}\\s+${male.size}\\s+${female.positives}`),
    );
    const json = await cli(
      env,
      '--json',
      'monitors',
      'fairness',
      `${chain.credit}@1`,
      '--attribute',
      'sex',
      '--label',
      'defaulted',
      '--positive',
      '1',
    );
    expect(datasetFairnessSchema.parse(JSON.parse(json.out))).toEqual(r);
    const missing = await cli(
      env,
      'monitors',
      'fairness',
      `${chain.credit}@1`,
      '--attribute',
      'nope',
      '--label',
      'defaulted',
    );
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/attribute: column 'nope'/);
  });
});
