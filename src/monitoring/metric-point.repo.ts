import { sql } from 'kysely';
import type { Executor } from '../store/index.js';
import type { MetricPointTable } from '../store/schema-monitoring.js';

/* The time series of metric points: the only SQL of them. */

/** Inserts a run's points in chunks (one statement per chunk keeps PostgreSQL's parameter limit). */
export async function insertPoints({ tx, rows }: { tx: Executor; rows: MetricPointTable[] }): Promise<void> {
  // 17 columns a row; 500 rows stay far below both backends' bound-parameter limits.
  for (let i = 0; i < rows.length; i += 500)
    await tx
      .insertInto('metric_points')
      .values(rows.slice(i, i + 500))
      .execute();
}

export interface PointFilter {
  runId?: string | undefined;
  monitorId?: string | undefined;
  deploymentId?: string | undefined;
  modelVersionId?: string | undefined;
  model?: string | undefined;
  modelVersion?: number | undefined;
  metric?: string | undefined;
  metricPrefix?: string | undefined;
  metrics?: readonly string[] | undefined;
  /** null: only whole-window points; undefined: any. */
  feature?: string | null | undefined;
  slice?: string | null | undefined;
  status?: string | undefined;
  /** Points whose window ends after since and starts before until. */
  since?: number | undefined;
  until?: number | undefined;
}

/** Points in time order (window start, then id), at most `limit`. */
export async function selectPoints({
  tx,
  filter: f,
  limit,
  newestFirst = false,
}: {
  tx: Executor;
  filter: PointFilter;
  limit: number;
  newestFirst?: boolean;
}): Promise<MetricPointTable[]> {
  let q = tx.selectFrom('metric_points').selectAll();
  if (f.runId !== undefined) q = q.where('run_id', '=', f.runId);
  if (f.monitorId !== undefined) q = q.where('monitor_id', '=', f.monitorId);
  if (f.deploymentId !== undefined) q = q.where('deployment_id', '=', f.deploymentId);
  if (f.modelVersionId !== undefined) q = q.where('model_version_id', '=', f.modelVersionId);
  if (f.model !== undefined) q = q.where('model', '=', f.model);
  if (f.modelVersion !== undefined) q = q.where('model_version', '=', f.modelVersion);
  if (f.metric !== undefined) q = q.where('metric', '=', f.metric);
  if (f.metrics !== undefined && f.metrics.length > 0) q = q.where('metric', 'in', [...f.metrics]);
  if (f.metricPrefix !== undefined)
    q = q.where(sql<boolean>`metric like ${`${escapeLike(f.metricPrefix)}%`} escape '\\'`);
  if (f.feature === null) q = q.where('feature', 'is', null);
  else if (f.feature !== undefined) q = q.where('feature', '=', f.feature);
  if (f.slice === null) q = q.where('slice', 'is', null);
  else if (f.slice !== undefined) q = q.where('slice', '=', f.slice);
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.since !== undefined) q = q.where('window_end', '>', f.since);
  if (f.until !== undefined) q = q.where('window_start', '<', f.until);
  const dir = newestFirst ? 'desc' : 'asc';
  return q.orderBy('window_start', dir).orderBy('id', dir).limit(limit).execute();
}

/** The id of the newest run that wrote points of these metrics for a model version (registry gates). */
export async function latestRunWith({
  tx,
  model,
  modelVersion,
  metrics,
}: {
  tx: Executor;
  model: string;
  modelVersion: number;
  metrics: readonly string[];
}): Promise<string | undefined> {
  const row = await tx
    .selectFrom('metric_points')
    .select('run_id')
    .where('model', '=', model)
    .where('model_version', '=', modelVersion)
    .where('metric', 'in', [...metrics])
    .where('value', 'is not', null)
    .orderBy('window_end', 'desc')
    .orderBy('run_id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.run_id;
}

// LIKE's wildcards in a prefix are literal characters (escaped with '\', declared for SQLite).
function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
