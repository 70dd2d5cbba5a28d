import { NotFoundError } from '../core/errors.js';
import type { Subscriber } from '../events/index.js';
import {
  ALERTS_ACTOR,
  type AlertsDomain,
  type AlertTargets,
  type MetricHistory,
} from '../monitoring/alerts/index.js';
import type { createMonitoringDomain, MetricPoint } from '../monitoring/index.js';
import type { MetricSeriesReader } from '../monitoring/report/index.js';
import type { RegistryDomain } from '../registry/index.js';
import type { ServingDomain } from '../serving/index.js';

/*
 * How alerts meet the rest: their view of serving and the registry, monitoring's stored series as the
 * history and report reader, and the subscriber that judges every completed monitor run.
 */

type MonitoringDomain = ReturnType<typeof createMonitoringDomain>;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A rollback acts as the system actor with the admin role: the model's promotion policy still decides
 * (emergencyRollback: admin rolls back at once; none opens a rollback request for an approver).
 */
export function alertTargetsOf(registry: RegistryDomain, serving: ServingDomain): AlertTargets {
  return {
    async deployment(id) {
      const d = await serving.deployments.get(id);
      return { name: d.name, model: d.model, ref: d.ref };
    },
    async deploymentId(nameOrId) {
      return (await serving.deployments.get(nameOrId)).id;
    },
    async modelVersion(deploymentId, id) {
      // No lookup by version id is exported; the deployment's model has few versions, read by pages.
      const d = await serving.deployments.get(deploymentId);
      for (let offset = 0; ; offset += 100) {
        const page = await registry.versions.list({ model: d.model, offset, limit: 100 });
        const hit = page.versions.find((v) => v.id === id);
        if (hit) return { model: hit.model, version: hit.version };
        if (!page.more) throw new NotFoundError('model version', id);
      }
    },
    async rollback({ model, alias, reason }) {
      const r = await registry.promotions.rollback({
        actor: { name: ALERTS_ACTOR, role: 'admin' },
        model,
        alias,
        reason,
      });
      return r.outcome === 'rolled_back'
        ? {
            status: 'done',
            message: `${model}@${alias} rolled back ${r.event.fromVersion} -> ${r.event.toVersion}`,
          }
        : { status: 'requested', message: `rollback request ${r.request.id} opened for ${model}@${alias}` };
    },
  };
}

/** Monitoring's stored points as the alerts' history and the report's (and gauges') reader. */
export function alertSeriesOf(monitoring: MonitoringDomain): MetricHistory & MetricSeriesReader {
  return {
    async recent(q) {
      // Windows are consecutive: the last `limit` of them end within limit + 1 window lengths.
      const span = Math.max(1, q.windowMs) * (q.limit + 1);
      const points = await monitoring.series.query({
        monitorId: q.monitorId,
        modelVersionId: q.modelVersionId,
        metric: q.metric,
        ...(q.feature !== null ? { feature: q.feature } : {}),
        ...(q.slice !== null ? { slice: q.slice } : {}),
        since: iso(q.before - span),
        until: iso(q.before),
      });
      return points
        .filter((p) => p.feature === q.feature && p.slice === q.slice && p.windowEnd <= q.before)
        .sort((a, b) => a.windowEnd - b.windowEnd)
        .slice(-q.limit);
    },
    points: (q) =>
      monitoring.series.query({
        deploymentId: q.deploymentId,
        ...(q.from !== undefined ? { since: iso(q.from) } : {}),
        ...(q.to !== undefined ? { until: iso(q.to) } : {}),
        limit: 100_000,
      }),
    async latest() {
      // The latest completed run of each live monitor: one point per series, bounded by the monitors.
      const out: MetricPoint[] = [];
      for (const m of await monitoring.monitors.list()) {
        const last = (await monitoring.runs.list(m.id, 10)).find((r) => r.status === 'completed');
        if (last) out.push(...(await monitoring.series.ofRun(last.id)));
      }
      return out;
    },
  };
}

/** The subscriber that judges each completed monitor run against its monitor's alert rules. */
export function evaluateAlertsOnRun(monitoring: MonitoringDomain, alerts: AlertsDomain): Subscriber {
  return {
    name: 'monitoring.alerts',
    types: ['monitor.run.completed'],
    // The engine writes in its own transactions (a rollback is the registry's); a redelivery finds
    // the alert already open and fires nothing twice.
    atomic: false,
    async handle(event) {
      const { monitorId, runId } = event.payload as { monitorId: string; runId: string };
      const monitor = await monitoring.monitors.get(monitorId);
      const rules = (monitor.spec.alerts ?? []) as unknown[];
      if (rules.length === 0) return;
      await alerts.evaluateRun(
        { id: monitor.id, deploymentId: monitor.deploymentId, alerts: rules },
        await monitoring.series.ofRun(runId),
      );
    },
  };
}
