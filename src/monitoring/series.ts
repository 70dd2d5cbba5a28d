import { ValidationError } from '../core/errors.js';
import { parseOrThrow } from '../core/validate.js';
import type { Executor } from '../store/index.js';
import type { MetricPointTable } from '../store/schema-monitoring.js';
import { type PointFilter, selectPoints } from './metric-point.repo.js';
import type { MetricPoint, MetricStatus } from './metric-point.schema.js';
import { type SeriesQueryInput, seriesQuerySchema } from './monitor.schema.js';

/*
 * The read side of monitoring's time series: what alerts, the report, Prometheus gauges and the API
 * read. A query names any of monitor, deployment, model version, metric (or a prefix), feature,
 * slice, status and a time range; points come back in window order.
 */

export function toPoint(r: MetricPointTable): MetricPoint {
  return {
    monitorId: r.monitor_id,
    runId: r.run_id,
    deploymentId: r.deployment_id,
    modelVersionId: r.model_version_id,
    metric: r.metric,
    feature: r.feature,
    slice: r.slice,
    windowStart: Number(r.window_start),
    windowEnd: Number(r.window_end),
    value: r.value === null ? null : Number(r.value),
    status: r.status as MetricStatus,
    details: JSON.parse(r.details) as Record<string, unknown>,
  };
}

function timeOf(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ValidationError(`${field}: expected an ISO-8601 time`, { field });
  return ms;
}

/** Points matching the query, oldest window first (at most `limit`, default 10,000). */
export async function querySeries(tx: Executor, q: SeriesQueryInput): Promise<MetricPoint[]> {
  const p = parseOrThrow(seriesQuerySchema, q);
  const filter: PointFilter = {
    monitorId: p.monitorId,
    deploymentId: p.deploymentId,
    modelVersionId: p.modelVersionId,
    metric: p.metric,
    metricPrefix: p.metricPrefix,
    feature: p.feature,
    slice: p.slice,
    status: p.status,
    since: timeOf(p.since, 'since'),
    until: timeOf(p.until, 'until'),
  };
  return (await selectPoints({ tx, filter, limit: p.limit })).map(toPoint);
}

/** The points one run wrote. */
export async function runPoints(tx: Executor, runId: string): Promise<MetricPoint[]> {
  return (await selectPoints({ tx, filter: { runId }, limit: 1_000_000 })).map(toPoint);
}
