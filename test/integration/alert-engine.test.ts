import { afterAll, beforeAll, expect, it } from 'vitest';
import { alertTargetsOf } from '../../src/app/alerts-wiring.js';
import { silentLogger } from '../../src/core/logger.js';
import { verifyWebhookSignature } from '../../src/events/webhooks/index.js';
import {
  type AlertRuleInput,
  createAlertsDomain,
  type MetricHistory,
} from '../../src/monitoring/alerts/index.js';
import type { MetricPoint } from '../../src/monitoring/metric-point.schema.js';
import type { Actor } from '../../src/registry/index.js';
import { uniq } from '../e2e/helpers.js';
import { tinyOnnxModel } from '../e2e/registry-fixtures.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { startReceiver } from '../support/http-receiver.js';

const admin: Actor = { name: 'ada', role: 'admin' };
const HOUR = 3_600_000;

describeEachBackend('alert engine: fire, dedupe, cooldown, resolve, act', (getStore) => {
  let t: TestApp;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let secret: string;
  let model: string;
  let v1: string;
  let v2: string;
  /** Points a history port hands back (what monitors stored in earlier runs). */
  let stored: MetricPoint[] = [];
  const history: MetricHistory = {
    recent: async (q) =>
      stored
        .filter(
          (p) =>
            p.monitorId === q.monitorId &&
            p.metric === q.metric &&
            p.feature === q.feature &&
            p.slice === q.slice &&
            p.modelVersionId === q.modelVersionId &&
            p.windowEnd <= q.before,
        )
        .sort((a, b) => a.windowEnd - b.windowEnd)
        .slice(-q.limit),
  };
  const alerts = () =>
    createAlertsDomain({
      db: t.services.store.db,
      clock: t.services.clock,
      audit: t.services.audit,
      events: t.services.events,
      logger: silentLogger,
      history,
      targets: wiredTargets,
    });
  /** The wiring's own targets: the real serving and registry. */
  let wiredTargets: Parameters<typeof createAlertsDomain>[0]['targets'];

  beforeAll(async () => {
    rx = await startReceiver(() => 204);
    t = await createTestApp(getStore(), { SEXTANT_WEBHOOK_ALLOW: '127.0.0.1' });
    secret = (
      await t.services.webhooks.add({
        actor: 'ops',
        url: `${rx.url}/alerts`,
        events: ['alert.fired', 'alert.resolved', 'model.retrain_requested'],
      })
    ).secret;
    model = uniq('watched');
    for (const w of [0.5, 0.25] as const) {
      await t.services.registry.versions.registerFile({
        actor: admin,
        model,
        filename: 'model.onnx',
        content: tinyOnnxModel([w, -0.25, 1]),
      });
    }
    v1 = (await t.services.registry.versions.resolve(`${model}@1`)).id;
    v2 = (await t.services.registry.versions.resolve(`${model}@2`)).id;
    await t.services.registry.aliases.set({ actor: admin, model, alias: 'live', version: 1 });
    wiredTargets = alertTargetsOf(t.services.registry, t.services.serving);
  });
  afterAll(async () => {
    await t.services.webhooks.close();
    await t.close();
    await rx.close();
  });

  async function deployment(ref = 'live') {
    const name = uniq('dep');
    return (await t.services.serving.deployments.create({ actor: 'ada', name, model: `${model}@${ref}` })).id;
  }
  function point(
    deploymentId: string,
    monitorId: string,
    o: Partial<MetricPoint> & { end: number },
  ): MetricPoint {
    const { end, ...rest } = o;
    return {
      monitorId,
      runId: uniq('run'),
      deploymentId,
      modelVersionId: v1,
      metric: 'drift.share',
      feature: null,
      slice: null,
      windowStart: end - HOUR,
      windowEnd: end,
      value: 0.5,
      status: 'alert',
      details: {},
      ...rest,
    };
  }
  const rule = (over: Partial<AlertRuleInput> = {}): AlertRuleInput => ({
    name: 'drifted',
    metric: 'drift.share',
    condition: { op: '>', threshold: 0.3 },
    ...over,
  });
  const auditCount = async (id: string) =>
    (await t.services.audit.list({ entityType: 'alert', entityId: id })).length;

  it('fires once, stays one alert while the condition holds, resolves by itself when it clears, each step audited', async () => {
    const dep = await deployment();
    const monitor = { id: uniq('mon'), deploymentId: dep, alerts: [rule()] };
    const a = alerts();
    const first = await a.evaluateRun(monitor, [point(dep, monitor.id, { end: 1 * HOUR, value: 0.45 })]);
    expect(first.fired).toHaveLength(1);
    expect(first.fired[0]).toMatchObject({
      state: 'firing',
      rule: 'drifted',
      value: 0.45,
      threshold: 0.3,
      condition: '> 0.3',
    });
    const id = first.fired[0]!.id;

    const again = await a.evaluateRun(monitor, [point(dep, monitor.id, { end: 2 * HOUR, value: 0.6 })]);
    expect(again).toMatchObject({ fired: [], resolved: [], stillOpen: 1 });
    expect((await a.list({ deployment: dep, state: 'open' })).map((x) => x.id)).toEqual([id]);
    expect((await a.get(id)).value).toBe(0.6);

    const cleared = await a.evaluateRun(monitor, [
      point(dep, monitor.id, { end: 3 * HOUR, value: 0.1, status: 'ok' }),
    ]);
    expect(cleared.resolved.map((x) => x.id)).toEqual([id]);
    expect((await a.get(id)).state).toBe('resolved');
    expect(await auditCount(id)).toBe(2);
    expect(await a.list({ deployment: dep, state: 'open' })).toEqual([]);
  });

  it('insufficient data never fires a threshold rule and never resolves an open alert', async () => {
    const dep = await deployment();
    const monitor = {
      id: uniq('mon'),
      deploymentId: dep,
      alerts: [rule({ condition: { op: '>=', threshold: 0 } })],
    };
    const a = alerts();
    const none = await a.evaluateRun(monitor, [
      point(dep, monitor.id, { end: HOUR, value: null, status: 'insufficient_data' }),
    ]);
    expect(none).toMatchObject({ fired: [], resolved: [], stillOpen: 0 });
    const fired = await a.evaluateRun(monitor, [point(dep, monitor.id, { end: 2 * HOUR, value: 0.2 })]);
    expect(fired.fired).toHaveLength(1);
    const blind = await a.evaluateRun(monitor, [
      point(dep, monitor.id, { end: 3 * HOUR, value: null, status: 'insufficient_data' }),
    ]);
    expect(blind.resolved).toEqual([]);
    expect((await a.get(fired.fired[0]!.id)).state).toBe('firing');
  });

  it("'for: 3' needs three windows in a row, counted across earlier runs; a broken streak starts over", async () => {
    const dep = await deployment();
    const monitor = { id: uniq('mon'), deploymentId: dep, alerts: [rule({ for: 3 })] };
    const a = alerts();
    stored = [
      point(dep, monitor.id, { end: 1 * HOUR, value: 0.5 }),
      point(dep, monitor.id, { end: 2 * HOUR, value: 0.1, status: 'ok' }),
      point(dep, monitor.id, { end: 3 * HOUR, value: 0.5 }),
    ];
    const two = await a.evaluateRun(monitor, [point(dep, monitor.id, { end: 4 * HOUR, value: 0.5 })]);
    expect(two.fired).toEqual([]);
    stored.push(point(dep, monitor.id, { end: 4 * HOUR, value: 0.5 }));
    const three = await a.evaluateRun(monitor, [point(dep, monitor.id, { end: 5 * HOUR, value: 0.7 })]);
    expect(three.fired.map((x) => x.value)).toEqual([0.7]);
    stored = [];
  });

  it('one alert per feature and slice; a feature filter watches only its feature; cooldown holds a new one back', async () => {
    const dep = await deployment();
    const monitor = {
      id: uniq('mon'),
      deploymentId: dep,
      alerts: [
        rule({ name: 'psi', metric: 'drift.psi', cooldown: '1h' }),
        rule({ name: 'age-only', metric: 'drift.psi', feature: 'age', severity: 'critical' }),
      ],
    };
    const a = alerts();
    const psi = (feature: string, value: number, end: number) =>
      point(dep, monitor.id, {
        metric: 'drift.psi',
        feature,
        value,
        end,
        status: value > 0.3 ? 'alert' : 'ok',
      });
    const r1 = await a.evaluateRun(monitor, [
      psi('age', 0.4, HOUR),
      psi('income', 0.5, HOUR),
      psi('<b>', 0.1, HOUR),
    ]);
    expect(r1.fired.map((x) => `${x.rule}:${x.feature}`).sort()).toEqual([
      'age-only:age',
      'psi:age',
      'psi:income',
    ]);
    expect(r1.fired.find((x) => x.rule === 'age-only')!.severity).toBe('critical');
    const r2 = await a.evaluateRun(monitor, [psi('age', 0.1, 2 * HOUR), psi('income', 0.1, 2 * HOUR)]);
    expect(r2.resolved).toHaveLength(3);
    // Drifts again within the hour: the cooldown holds 'psi' back; 'age-only' has none.
    const r3 = await a.evaluateRun(monitor, [psi('age', 0.9, 3 * HOUR)]);
    expect(r3.fired.map((x) => x.rule)).toEqual(['age-only']);
    expect(r3.suppressed).toBe(1);
  });

  it('acknowledge: firing -> acknowledged (audited, with comment); twice is an invalid transition; it still resolves', async () => {
    const dep = await deployment();
    const monitor = {
      id: uniq('mon'),
      deploymentId: dep,
      alerts: [rule({ condition: { status: 'alert' } })],
    };
    const a = alerts();
    const { fired } = await a.evaluateRun(monitor, [point(dep, monitor.id, { end: HOUR })]);
    const id = fired[0]!.id;
    const acked = await a.acknowledge({ actor: 'bob', id, comment: 'looking' });
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'bob', comment: 'looking' });
    await expect(a.acknowledge({ actor: 'bob', id })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    await expect(a.get('alr_nope')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'id' },
    });
    const { resolved } = await a.evaluateRun(monitor, [
      point(dep, monitor.id, { end: 2 * HOUR, status: 'ok' }),
    ]);
    expect(resolved.map((x) => x.id)).toEqual([id]);
    expect(await auditCount(id)).toBe(3);
  });

  it("action 'rollback' rolls the deployment's alias back through the registry (emergency rule); a pinned deployment is skipped", async () => {
    await t.services.registry.aliases.set({ actor: admin, model, alias: 'live', version: 2 });
    const dep = await deployment('live');
    const monitor = {
      id: uniq('mon'),
      deploymentId: dep,
      alerts: [
        rule({
          name: 'acc',
          metric: 'performance.accuracy',
          condition: { op: '<', threshold: 0.8 },
          action: 'rollback',
        }),
      ],
    };
    const { fired } = await alerts().evaluateRun(monitor, [
      point(dep, monitor.id, { metric: 'performance.accuracy', value: 0.61, modelVersionId: v2, end: HOUR }),
    ]);
    expect(fired[0]!.actionOutcome).toMatchObject({ action: 'rollback', status: 'done' });
    expect((await t.services.registry.versions.resolve(`${model}@live`)).version).toBe(1);
    const history = await t.services.registry.aliases.history({ model, alias: 'live' });
    expect(history.at(-1)).toMatchObject({
      kind: 'rollback',
      fromVersion: 2,
      toVersion: 1,
      actor: 'system:alerts',
    });
    expect(
      (await t.services.audit.list({ entityType: 'alert', entityId: fired[0]!.id }))
        .map((e) => e.action)
        .sort(),
    ).toEqual(['alert.action', 'alert.fire']);

    const pinned = await deployment('1');
    const m2 = { ...monitor, id: uniq('mon'), deploymentId: pinned };
    const r = await alerts().evaluateRun(m2, [
      point(pinned, m2.id, { metric: 'performance.accuracy', value: 0.5, end: HOUR }),
    ]);
    expect(r.fired[0]!.actionOutcome).toMatchObject({ status: 'skipped' });
  });

  it("notifies through signed webhooks: 'retrain' emits model.retrain_requested; the slack channel puts {text, blocks} on top", async () => {
    const dep = await deployment('1');
    const monitor = {
      id: uniq('mon'),
      deploymentId: dep,
      alerts: [rule({ name: 'retrain-me', action: 'retrain', notify: ['webhook', 'slack'] })],
    };
    const { fired } = await alerts().evaluateRun(monitor, [
      point(dep, monitor.id, { end: HOUR, feature: '<script>' }),
    ]);
    const id = fired[0]!.id;
    expect(fired[0]!.actionOutcome).toMatchObject({ action: 'retrain', status: 'done' });
    await alerts().evaluateRun(monitor, [
      point(dep, monitor.id, { end: 2 * HOUR, value: 0, status: 'ok', feature: '<script>' }),
    ]);
    await t.services.events.flush(10_000);
    const mine = rx.got
      .map((r) => ({
        r,
        body: JSON.parse(r.body) as {
          type: string;
          text?: string;
          blocks?: unknown[];
          payload: { alertId: string };
        },
      }))
      .filter((e) => e.body.payload.alertId === id);
    expect(mine.map((e) => e.body.type).sort()).toEqual([
      'alert.fired',
      'alert.resolved',
      'model.retrain_requested',
    ]);
    for (const { r } of mine) {
      expect(
        verifyWebhookSignature({
          secret,
          body: r.body,
          timestamp: String(r.headers['x-sextant-timestamp']),
          signature: String(r.headers['x-sextant-signature']),
        }),
      ).toBe(true);
    }
    const firedBody = mine.find((e) => e.body.type === 'alert.fired')!.body;
    expect(firedBody.text).toMatch(/alert retrain-me fired: drift\.share = 0\.5/);
    expect(firedBody.blocks).toHaveLength(2);
    const retrain = mine.find((e) => e.body.type === 'model.retrain_requested')!.body.payload;
    expect(retrain).toMatchObject({ model, version: 1, deploymentId: dep });
  });

  it('bad rules are refused naming the field, before anything is judged', async () => {
    const dep = await deployment();
    const a = alerts();
    await expect(
      a.evaluateRun({ id: uniq('mon'), deploymentId: dep, alerts: [rule({ condition: { op: '>' } })] }, []),
    ).rejects.toMatchObject({ details: { field: 'alerts.0.condition.threshold' } });
  });
});
