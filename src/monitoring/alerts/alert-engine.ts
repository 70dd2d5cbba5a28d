import { newId } from '../../core/ids.js';
import { parseOrThrow } from '../../core/validate.js';
import { inTransaction, isUniqueViolation, type Tx } from '../../store/index.js';
import type { MetricPoint } from '../metric-point.schema.js';
import * as repo from './alert.repo.js';
import type { ActionOutcome, Alert, Evaluation } from './alert.schema.js';
import { ruleWatches, type SeriesVerdict, seriesId, seriesVerdict } from './alert-condition.js';
import { ALERTS_ACTOR, type AlertDeps } from './alert-ports.js';
import { type AlertRule, AlertRulesSchema } from './alert-rule.schema.js';
import { alertEventPayload, toAlert } from './alert-view.js';

/*
 * The alert engine: after each monitor run, every rule of the monitor is judged on the run's points
 * (plus the series' earlier windows when the rule needs N in a row). One rule on one series of one
 * deployment has at most one open alert (a unique open key); a new one waits out the rule's cooldown
 * after the last resolved; an open one resolves by itself once its condition clears. Each transition
 * writes its audit entry and its event in one transaction. Actions run after the firing committed: a
 * rollback goes through the registry's own rules (and its own transaction), its outcome recorded and
 * audited on the alert.
 */

/** What evaluateRun needs of a monitor: its id, its deployment and its rules as the YAML gave them. */
export interface MonitorRef {
  id: string;
  deploymentId: string;
  alerts: readonly unknown[];
}

interface Finding {
  rule: AlertRule;
  feature: string | null;
  slice: string | null;
  verdict: SeriesVerdict;
  /** The latest point that held the condition (holds), or the latest point (otherwise). */
  point: MetricPoint;
}

function seriesKey(monitor: MonitorRef, rule: AlertRule, feature: string | null, slice: string | null) {
  return JSON.stringify([monitor.id, rule.name, monitor.deploymentId, feature, slice]);
}

/** Combines the verdicts of the model versions measured on one series (champion and challenger, say). */
function combine(verdicts: readonly SeriesVerdict[]): SeriesVerdict {
  if (verdicts.includes('holds')) return 'holds';
  if (verdicts.length > 0 && verdicts.every((v) => v === 'clear')) return 'clear';
  return verdicts.includes('pending') ? 'pending' : 'unknown';
}

export function createAlertEngine(deps: AlertDeps) {
  const { db, clock, audit, events, logger, history, targets } = deps;

  /** The verdict of each series a rule watches among the run's points. */
  async function judge(
    monitor: MonitorRef,
    rule: AlertRule,
    points: readonly MetricPoint[],
  ): Promise<Finding[]> {
    const bySeries = new Map<string, MetricPoint[]>();
    for (const p of points) {
      if (p.deploymentId !== monitor.deploymentId || !ruleWatches(rule, p)) continue;
      const k = seriesId(p);
      bySeries.set(k, [...(bySeries.get(k) ?? []), p]);
    }
    const out: Finding[] = [];
    for (const series of bySeries.values()) {
      const byVersion = new Map<string, MetricPoint[]>();
      for (const p of series)
        byVersion.set(p.modelVersionId, [...(byVersion.get(p.modelVersionId) ?? []), p]);
      const verdicts: { verdict: SeriesVerdict; last: MetricPoint }[] = [];
      for (const [modelVersionId, own] of byVersion) {
        own.sort((a, b) => a.windowEnd - b.windowEnd);
        const first = own[0]!;
        const runIds = new Set(own.map((p) => p.runId));
        const earlier =
          rule.for > own.length
            ? (
                await history.recent({
                  monitorId: monitor.id,
                  metric: rule.metric,
                  feature: first.feature,
                  slice: first.slice,
                  modelVersionId,
                  before: first.windowStart,
                  limit: rule.for - own.length,
                  windowMs: first.windowEnd - first.windowStart,
                })
              ).filter((p) => !runIds.has(p.runId))
            : [];
        verdicts.push({ verdict: seriesVerdict(rule, [...earlier, ...own]), last: own.at(-1)! });
      }
      const verdict = combine(verdicts.map((v) => v.verdict));
      const point = (verdicts.find((v) => v.verdict === 'holds') ?? verdicts.at(-1)!).last;
      out.push({ rule, feature: point.feature, slice: point.slice, verdict, point });
    }
    return out;
  }

  async function fire(
    tx: Tx,
    monitor: MonitorRef,
    f: Finding,
    deployment: string,
    retrainOf: { model: string; version: number } | undefined,
  ): Promise<Alert> {
    const now = clock.now();
    const { rule, point } = f;
    const key = seriesKey(monitor, rule, f.feature, f.slice);
    const row = {
      id: newId('alr', now),
      rule: rule.name,
      monitor_id: monitor.id,
      deployment_id: monitor.deploymentId,
      model_version_id: point.modelVersionId,
      metric: rule.metric,
      feature: f.feature,
      slice: f.slice,
      series_key: key,
      open_key: key,
      severity: rule.severity,
      action: rule.action,
      condition: JSON.stringify(rule.condition),
      state: 'firing',
      value: point.value,
      threshold: rule.condition.threshold ?? null,
      window_start: point.windowStart,
      window_end: point.windowEnd,
      fired_at: now,
      last_seen_at: now,
      acknowledged_at: null,
      acknowledged_by: null,
      ack_comment: null,
      resolved_at: null,
      action_outcome: null,
    };
    await audit.append(tx, {
      actor: ALERTS_ACTOR,
      action: 'alert.fire',
      entityType: 'alert',
      entityId: row.id,
      after: { state: 'firing' },
      details: {
        rule: rule.name,
        monitorId: monitor.id,
        deploymentId: monitor.deploymentId,
        metric: rule.metric,
        feature: f.feature,
        slice: f.slice,
        value: point.value,
        runId: point.runId,
      },
    });
    await repo.insertAlert({ tx, row });
    let alert = toAlert(row);
    const payload = alertEventPayload(alert, {
      deployment,
      kind: 'fired',
      slack: rule.notify.includes('slack'),
    });
    await events.emit(tx, 'alert.fired', payload, { actor: ALERTS_ACTOR });
    if (retrainOf) {
      const outcome = await requestRetrain(tx, alert, retrainOf, payload.text);
      await repo.setActionOutcome({ tx, id: row.id, outcome: JSON.stringify(outcome) });
      alert = { ...alert, actionOutcome: outcome };
    }
    return alert;
  }

  async function requestRetrain(
    tx: Tx,
    alert: Alert,
    v: { model: string; version: number },
    reason: string,
  ): Promise<ActionOutcome> {
    await events.emit(
      tx,
      'model.retrain_requested',
      { model: v.model, version: v.version, deploymentId: alert.deploymentId, alertId: alert.id, reason },
      { actor: ALERTS_ACTOR, key: `retrain:${alert.id}` },
    );
    return { action: 'retrain', status: 'done', message: `retrain of ${v.model}@${v.version} requested` };
  }

  /** Rolls the deployment's alias back; never throws (the alert stands whatever the rollback says). */
  async function rollback(alert: Alert, deployment: { name: string; model: string; ref: string }) {
    let outcome: ActionOutcome;
    if (/^\d+$/.test(deployment.ref)) {
      outcome = {
        action: 'rollback',
        status: 'skipped',
        message: `deployment ${deployment.name} is pinned to version ${deployment.ref}; no alias to roll back`,
      };
    } else {
      try {
        const r = await targets.rollback({
          model: deployment.model,
          alias: deployment.ref,
          reason: `alert ${alert.rule} (${alert.id}): ${alert.metric} ${alert.condition}`,
        });
        outcome = { action: 'rollback', ...r };
      } catch (err) {
        outcome = { action: 'rollback', status: 'failed', message: (err as Error).message };
      }
    }
    await inTransaction(db, async (tx) => {
      await audit.append(tx, {
        actor: ALERTS_ACTOR,
        action: 'alert.action',
        entityType: 'alert',
        entityId: alert.id,
        details: { ...outcome },
      });
      await repo.setActionOutcome({ tx, id: alert.id, outcome: JSON.stringify(outcome) });
    });
    return { ...alert, actionOutcome: outcome };
  }

  async function resolve(tx: Tx, open: repo.AlertRow, f: Finding, deployment: string, slack: boolean) {
    const now = clock.now();
    const moved = await repo.transitionAlert({
      tx,
      id: open.id,
      from: ['firing', 'acknowledged'],
      set: { state: 'resolved', open_key: null, resolved_at: now, last_seen_at: now, value: f.point.value },
    });
    if (!moved) return undefined;
    await audit.append(tx, {
      actor: ALERTS_ACTOR,
      action: 'alert.resolve',
      entityType: 'alert',
      entityId: open.id,
      before: { state: open.state },
      after: { state: 'resolved' },
      details: { value: f.point.value, runId: f.point.runId },
    });
    const alert = toAlert((await repo.findAlert({ tx, id: open.id }))!);
    await events.emit(
      tx,
      'alert.resolved',
      alertEventPayload(alert, { deployment, kind: 'resolved', slack }),
      {
        actor: ALERTS_ACTOR,
      },
    );
    return alert;
  }

  /**
   * Judges a monitor run's points against the monitor's rules: fires, dedupes, holds back in cooldown,
   * resolves, and runs each fired alert's action. The monitor's `alerts` are parsed here (ValidationError
   * naming `alerts.<i>.<field>`), so a monitor may store them as written.
   */
  async function evaluateRun(monitor: MonitorRef, points: readonly MetricPoint[]): Promise<Evaluation> {
    const rules = parseOrThrow(AlertRulesSchema, monitor.alerts, 'alerts');
    const out: Evaluation = { fired: [], resolved: [], stillOpen: 0, suppressed: 0 };
    if (rules.length === 0) return out;
    const deployment = await targets.deployment(monitor.deploymentId);
    for (const rule of rules) {
      for (const f of await judge(monitor, rule, points)) {
        const key = seriesKey(monitor, rule, f.feature, f.slice);
        if (f.verdict === 'holds') {
          const fired = await fireUnlessOpen(monitor, f, key, deployment.name);
          if (fired === 'open') out.stillOpen++;
          else if (fired === 'cooldown') out.suppressed++;
          else {
            if (rule.notify.includes('log'))
              logger.warn(
                { alert: fired.id, rule: rule.name },
                alertEventPayload(fired, { deployment: deployment.name, kind: 'fired', slack: false }).text,
              );
            out.fired.push(rule.action === 'rollback' ? await rollback(fired, deployment) : fired);
          }
        } else if (f.verdict === 'clear') {
          const resolved = await inTransaction(db, async (tx) => {
            const open = await repo.findOpenAlert({ tx, key });
            return open ? resolve(tx, open, f, deployment.name, rule.notify.includes('slack')) : undefined;
          });
          if (resolved) {
            if (rule.notify.includes('log'))
              logger.info({ alert: resolved.id, rule: rule.name }, `alert ${rule.name} resolved`);
            out.resolved.push(resolved);
          }
        }
      }
    }
    return out;
  }

  async function fireUnlessOpen(
    monitor: MonitorRef,
    f: Finding,
    key: string,
    deployment: string,
  ): Promise<Alert | 'open' | 'cooldown'> {
    // Looked up before the transaction: on SQLite a read outside it would wait for it to end.
    const retrainOf =
      f.rule.action === 'retrain'
        ? await targets.modelVersion(monitor.deploymentId, f.point.modelVersionId)
        : undefined;
    try {
      return await inTransaction(db, async (tx) => {
        const open = await repo.findOpenAlert({ tx, key });
        if (open) {
          await repo.touchAlert({
            tx,
            id: open.id,
            at: clock.now(),
            value: f.point.value,
            windowStart: f.point.windowStart,
            windowEnd: f.point.windowEnd,
          });
          return 'open' as const;
        }
        const resolvedAt = await repo.lastResolvedAt({ tx, key });
        if (resolvedAt !== undefined && clock.now() < resolvedAt + f.rule.cooldown)
          return 'cooldown' as const;
        return fire(tx, monitor, f, deployment, retrainOf);
      });
    } catch (err) {
      // Another run opened the same alert between our look and our insert: it is open, once.
      if (isUniqueViolation(err)) return 'open';
      throw err;
    }
  }

  return { evaluateRun };
}

export type AlertEngine = ReturnType<typeof createAlertEngine>;
