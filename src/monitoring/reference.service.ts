import { ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { DatasetVersion } from '../data/index.js';
import type { ColumnProfile } from '../data/tables/index.js';
import type { ModelVersion } from '../registry/index.js';
import { isUniqueViolation } from '../store/index.js';
import type { MonitorReferenceTable, MonitorTable } from '../store/schema-monitoring.js';
import { liveColumnProfile } from './live-profile.js';
import * as repo from './monitor.repo.js';
import type { MonitorSpec } from './monitor-spec.schema.js';
import type { MonitoringDeps } from './monitoring-deps.js';
import { type ServedRow, splitPage, type VersionTraffic } from './window-traffic.js';

/*
 * The reference a model version's traffic is measured against, resolved once per (monitor version,
 * model version) and stored: the training dataset version's stored profiles (never a rescan of the
 * raw data), an explicit dataset version's, or the first rows of the version's own traffic (profiles
 * plus the raw values, so tests on them are exact). A later run reads the stored one, so a re-run of
 * an old window measures against what it measured against then.
 */

// Raw values kept per column of a traffic reference: enough for exact tests, bounded in size.
const SAMPLE_CAP = 10_000;
const DEFAULT_TRAFFIC_ROWS = 1000;

export interface ResolvedReference {
  source: 'training' | 'dataset' | 'traffic';
  sourceRef: string;
  rowCount: number;
  profiles: ColumnProfile[];
  sample: Record<string, unknown[]> | null;
}

/** The table of a dataset version that holds the most of the wanted columns (its stored profile). */
function profileOf(dv: DatasetVersion, wanted: readonly string[] | undefined): ResolvedReference {
  const ref = `${dv.dataset}@${dv.number}`;
  const tables = dv.tables.filter((t) => t.profile.columns.length > 0);
  if (tables.length === 0)
    throw new ValidationError(`reference ${ref} has no profiled table (csv, parquet or jsonl)`, {
      field: 'reference',
    });
  const score = (t: (typeof tables)[number]) =>
    wanted ? t.profile.columns.filter((c) => wanted.includes(c.name)).length : t.profile.columns.length;
  const best = tables.reduce((a, b) => (score(b) > score(a) ? b : a));
  return {
    source: 'dataset',
    sourceRef: tables.length > 1 ? `${ref}:${best.path}` : ref,
    rowCount: best.rowCount,
    profiles: best.profile.columns,
    sample: null,
  };
}

/** The stored profiles of the version's training dataset version. */
export async function trainingReference(
  deps: Pick<MonitoringDeps, 'datasets'>,
  version: ModelVersion,
  wanted: readonly string[] | undefined,
): Promise<ResolvedReference> {
  const ids = version.datasetVersionIds;
  if (ids.length === 0)
    throw new ValidationError(
      `${version.model}@${version.version} records no training dataset version: pass --reference <dataset>@<v>, or set reference.source: traffic`,
      { field: 'reference' },
    );
  const candidates = await Promise.all(ids.map((id) => deps.datasets.get(id)));
  const resolved = candidates.map((dv) => profileOf(dv, wanted));
  const best = resolved.reduce((a, b) => (b.profiles.length > a.profiles.length ? b : a));
  return { ...best, source: 'training' };
}

/** A reference from traffic rows (profiles and capped raw values per column). */
export function trafficReference(rows: readonly ServedRow[], window: string): ResolvedReference {
  const columns = new Map<string, unknown[]>();
  const push = (k: string, v: unknown) => {
    let vs = columns.get(k);
    if (!vs) {
      vs = [];
      columns.set(k, vs);
    }
    vs.push(v);
  };
  for (const r of rows) {
    for (const [k, v] of Object.entries(r.inputs)) push(k, v);
    push('prediction', r.prediction);
  }
  const profiles = [...columns.entries()].map(([k, vs]) => liveColumnProfile(k, vs));
  const sample = Object.fromEntries([...columns.entries()].map(([k, vs]) => [k, vs.slice(0, SAMPLE_CAP)]));
  return { source: 'traffic', sourceRef: window, rowCount: rows.length, profiles, sample };
}

/**
 * The first rows of a version's own traffic (key: its id, or `shadow:<id>`): scanned from the start of
 * the log until `rows` rows, or until the first `windowMs` of its traffic when given.
 */
export async function firstTrafficRows(
  deps: Pick<MonitoringDeps, 'predictions'>,
  input: { deploymentId: string; key: string; rows: number; windowMs?: number | undefined },
): Promise<ServedRow[]> {
  const rows: ServedRow[] = [];
  let first: number | undefined;
  for await (const page of deps.predictions.scanColumns({
    deploymentId: input.deploymentId,
    since: 0,
    until: Number.MAX_SAFE_INTEGER,
    batchSize: 5000,
  })) {
    const split = new Map<string, VersionTraffic>();
    splitPage(page, split);
    for (const row of split.get(input.key)?.rows ?? []) {
      first ??= row.servedAt;
      const pastWindow = input.windowMs !== undefined && row.servedAt >= first + input.windowMs;
      if (pastWindow || rows.length >= input.rows) return rows;
      rows.push(row);
    }
  }
  return rows;
}

/** Builds the reference the spec (or --reference) names for a model version. */
export async function resolveReference(
  deps: Pick<MonitoringDeps, 'datasets' | 'predictions'>,
  input: {
    spec: MonitorSpec;
    version: ModelVersion;
    deploymentId: string;
    /** The monitor's window length in ms, for a traffic reference of "the first window". */
    windowMs: number | undefined;
    /** The version's first traffic, when it is a shadow (its rows are not tagged with its id). */
    shadow: boolean;
  },
): Promise<ResolvedReference> {
  const { spec, version } = input;
  const r = spec.reference;
  if (r.source === 'dataset') {
    const dv = await deps.datasets.resolve(r.dataset as string);
    return profileOf(dv, spec.features);
  }
  if (r.source === 'training') return trainingReference(deps, version, spec.features);
  const wantRows = r.rows ?? (spec.window.kind === 'count' ? spec.window.rows : DEFAULT_TRAFFIC_ROWS);
  const rows = await firstTrafficRows(deps, {
    deploymentId: input.deploymentId,
    key: input.shadow ? `shadow:${version.id}` : version.id,
    rows: wantRows,
    windowMs: r.rows === undefined ? input.windowMs : undefined,
  });
  const start = rows[0]?.servedAt;
  const end = rows[rows.length - 1]?.servedAt;
  const window =
    start === undefined || end === undefined
      ? 'no traffic yet'
      : `first ${rows.length} rows [${new Date(start).toISOString()}, ${new Date(end).toISOString()}]`;
  return trafficReference(rows, window);
}

/**
 * The stored reference of (monitor version, model version), resolving and storing it on first use.
 * Resolving reads other domains outside any transaction (SQLite has one writer connection).
 */
export async function ensureReference(
  deps: Pick<MonitoringDeps, 'datasets' | 'predictions' | 'clock' | 'db'>,
  input: {
    monitor: MonitorTable;
    spec: MonitorSpec;
    version: ModelVersion;
    shadow: boolean;
    override: ResolvedReference | undefined;
  },
): Promise<MonitorReferenceTable | undefined> {
  const { monitor, version } = input;
  const tx = deps.db;
  const found = await repo.findReference({
    tx,
    monitorId: monitor.id,
    monitorVersion: monitor.version,
    modelVersionId: version.id,
  });
  if (found) return found;
  const resolved =
    input.override ??
    (await resolveReference(deps, {
      spec: input.spec,
      version,
      deploymentId: monitor.deployment_id,
      windowMs: input.spec.window.kind === 'time' ? input.spec.window.ms : undefined,
      shadow: input.shadow,
    }));
  // Too little early traffic is not stored: a later run resolves again once there is enough.
  if (resolved.source === 'traffic' && resolved.rowCount < input.spec.drift.minRows) return undefined;
  const now = deps.clock.now();
  const row: MonitorReferenceTable = {
    id: newId('mref', now),
    monitor_id: monitor.id,
    monitor_version: monitor.version,
    model_version_id: version.id,
    source: resolved.source,
    source_ref: resolved.sourceRef,
    row_count: resolved.rowCount,
    profiles: JSON.stringify(resolved.profiles),
    sample: resolved.sample ? JSON.stringify(resolved.sample) : null,
    cbpe: null,
    created_at: now,
  };
  try {
    await repo.insertReference({ tx, row });
  } catch (err) {
    // Two runs resolved it at once (replicas): the first one stored is the reference.
    if (!isUniqueViolation(err)) throw err;
    return repo.findReference({
      tx,
      monitorId: monitor.id,
      monitorVersion: monitor.version,
      modelVersionId: version.id,
    });
  }
  return row;
}
