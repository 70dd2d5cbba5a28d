import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { CREDIT_TARGET, defaultProbability, generateCreditData } from '../../src/ml/index.js';
import type { ModelVersion } from '../../src/registry/index.js';
import { openPredictionLedger } from '../../src/serving/ledger/index.js';
import { makeRecord } from '../../src/serving/ledger/ledger-fixtures.contract.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { uniq } from './helpers.js';
import { buildChain, type Chain } from './serving-chain.js';

/*
 * The loop closed on a real deployment: a champion serves drifted traffic, its monitor's run stores
 * points, the monitor.run.completed subscriber judges them against the monitor's alert rules, an alert
 * fires and rolls the champion back through the registry; the report shows it.
 */

const T0 = Date.UTC(2026, 5, 1);
const HOUR = 3_600_000;

const SPEC = `
name: credit-watch
window: 1h
drift:
  minRows: 30
label:
  positive: 1
alerts:
  - name: serving-skew
    metric: skew.share
    condition: { status: alert }
    severity: critical
    action: rollback
  - name: age-drift
    metric: skew.psi
    feature: age
    condition: { op: '>', threshold: 0.1 }
`;

describeEachBackend('monitor alerts close the loop', (getStore) => {
  let t: TestApp;
  let chain: Chain;
  let v2: ModelVersion;
  const deployment = uniq('credit-live');

  async function logHour(start: number, drift: number, seed: number, version: ModelVersion) {
    const ledger = openPredictionLedger({ store: getStore(), clock: systemClock });
    const data = generateCreditData({ rows: 200, seed, covariateDrift: drift });
    const d = await t.services.serving.deployments.get(deployment);
    for (const [i, row] of data.rows.entries()) {
      const { [CREDIT_TARGET]: _label, ...inputs } = row;
      const p = defaultProbability(row);
      await ledger.append(
        makeRecord({
          deploymentId: d.id,
          modelVersionId: version.id,
          model: version.model,
          version: version.version,
          role: 'champion',
          alias: 'champion',
          servedAt: start + i * 15_000,
          inputs,
          outputs: { prediction: p >= 0.5 ? 1 : 0, probabilities: { '0': 1 - p, '1': p } },
        }),
      );
    }
    await ledger.close();
  }

  beforeAll(async () => {
    t = await createTestApp(getStore());
    chain = await buildChain(t.services);
    await chain.train(1);
    await chain.promote(1, 'first model');
    v2 = (await chain.train(2)).version;
    await chain.promote(2, 'second model');
    await t.services.serving.deployments.create({
      actor: chain.editor,
      name: deployment,
      model: `${chain.model}@champion`,
    });
    await logHour(T0, 1, 12, v2);
  }, 120_000);
  afterAll(async () => {
    chain?.cleanup();
    await t?.close();
  });

  it('a monitor whose YAML carries a bad rule is refused naming the rule field', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      payload: {
        deployment,
        spec: `name: bad\nalerts:\n  - name: x\n    metric: drift.share\n    condition: { op: '>' }\n`,
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.field).toBe('spec.alerts[0].condition.threshold');
  });

  it('drifted traffic fires the rules after the run; the critical one rolls the champion back; the report shows it', async () => {
    await t.services.monitoring.monitors.create({ actor: chain.editor, deployment, spec: SPEC });
    const [result] = await t.services.monitoring.runDeployment({
      actor: chain.editor,
      deployment,
      from: T0,
      to: T0 + HOUR,
    });
    expect(result?.points.find((p) => p.metric === 'skew.share')?.status).toBe('alert');
    await t.services.events.flush(20_000);

    const open = await t.services.alerts.list({ deployment, state: 'open' });
    expect(open.map((a) => a.rule).sort()).toEqual(['age-drift', 'serving-skew']);
    const skew = open.find((a) => a.rule === 'serving-skew')!;
    expect(skew).toMatchObject({
      severity: 'critical',
      modelVersionId: v2.id,
      actionOutcome: { status: 'done' },
    });
    expect((await t.services.registry.versions.resolve(`${chain.model}@champion`)).version).toBe(1);
    expect(open.find((a) => a.rule === 'age-drift')).toMatchObject({ feature: 'age', action: 'notify' });

    // The same run delivered again fires nothing twice.
    await t.services.alerts.evaluateRun(
      {
        id: skew.monitorId,
        deploymentId: skew.deploymentId,
        alerts: (await t.services.monitoring.monitors.get(skew.monitorId)).spec.alerts as unknown[],
      },
      result!.points,
    );
    expect(await t.services.alerts.list({ deployment, state: 'open' })).toHaveLength(2);

    const html = await t.services.monitoringReport.html({ deployment });
    expect(html).toContain('serving-skew');
    expect(html).toContain('rolled back 2 -&gt; 1');
    expect(html).toContain('age');
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(
      /sextant_monitor_metric\{deployment="[^"]+",model_version="[^"]+",metric="skew.share",feature="",slice=""\} \d/,
    );
  });
});
