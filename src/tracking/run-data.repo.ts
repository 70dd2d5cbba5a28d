import { sql } from 'kysely';
import type { BulkColumn, Dialect, Executor, LatestMetricTable, RunInputTable } from '../store/index.js';
import { ensureMetricKeyIds, ensureRunNumber } from './metric-keys.repo.js';

/** A metric value with its run and key by name (the history stores their surrogate keys). */
export type MetricRow = LatestMetricTable;

// Rows per INSERT statement: well under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/*
 * Rows that upsert are written in key order, so concurrent transactions lock the same rows in the same
 * order: PostgreSQL otherwise deadlocks two batches that name the same keys in opposite orders.
 * The sort is stable, so a key repeated within a batch keeps its last value.
 */
function inKeyOrder<T extends { key: string }>(rows: T[]): T[] {
  return [...rows].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export async function findParams({ tx, runId, keys }: { tx: Executor; runId: string; keys: string[] }) {
  if (keys.length === 0) return [];
  return tx
    .selectFrom('params')
    .select(['key', 'value'])
    .where('run_id', '=', runId)
    .where('key', 'in', keys)
    .execute();
}

/** Inserts params that are not there yet; existing keys are left as they are (params are immutable). */
export async function insertParams({
  tx,
  runId,
  params,
}: {
  tx: Executor;
  runId: string;
  params: { key: string; value: string }[];
}) {
  for (const part of chunks(inKeyOrder(params), CHUNK)) {
    await tx
      .insertInto('params')
      .values(part.map((p) => ({ run_id: runId, key: p.key, value: p.value })))
      .onConflict((oc) => oc.columns(['run_id', 'key']).doNothing())
      .execute();
  }
}

export async function upsertTags({
  tx,
  runId,
  tags,
}: {
  tx: Executor;
  runId: string;
  tags: { key: string; value: string }[];
}) {
  for (const t of inKeyOrder(tags)) {
    await tx
      .insertInto('run_tags')
      .values({ run_id: runId, key: t.key, value: t.value })
      .onConflict((oc) => oc.columns(['run_id', 'key']).doUpdateSet({ value: t.value }))
      .execute();
  }
}

export async function deleteTag({
  tx,
  runId,
  key,
}: {
  tx: Executor;
  runId: string;
  key: string;
}): Promise<boolean> {
  const r = await tx
    .deleteFrom('run_tags')
    .where('run_id', '=', runId)
    .where('key', '=', key)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

const METRIC_COLUMNS = [
  { name: 'run_num', pgType: 'integer' },
  { name: 'key_id', pgType: 'integer' },
  { name: 'value', pgType: 'double precision' },
  { name: 'is_nan', pgType: 'integer' },
  { name: 'timestamp', pgType: 'bigint' },
  { name: 'step', pgType: 'bigint' },
] as const satisfies readonly BulkColumn[];

/**
 * Appends metric history rows (the hot path of log-batch: one statement for a whole batch). `cells`
 * holds each row's run_num, key_id, value, is_nan, timestamp and step in turn, as the caller built them
 * from the request (metric-keys.repo.ts gives the two surrogate keys).
 */
export async function insertMetricCells({
  tx,
  dialect,
  cells,
}: {
  tx: Executor;
  dialect: Dialect;
  cells: unknown[];
}) {
  await dialect.insertMany(tx, { table: 'metrics', columns: METRIC_COLUMNS, cells });
}

/** Appends metric history rows given as objects (seeding and tools; log-batch builds cells itself). */
export async function insertMetrics({
  tx,
  dialect,
  rows,
}: {
  tx: Executor;
  dialect: Dialect;
  rows: MetricRow[];
}) {
  const keyIds = await ensureMetricKeyIds({ tx, names: [...new Set(rows.map((r) => r.key))] });
  const runNums = new Map<string, number>();
  for (const runId of new Set(rows.map((r) => r.run_id)))
    runNums.set(runId, await ensureRunNumber({ tx, runId }));
  const cells: unknown[] = [];
  for (const r of rows)
    cells.push(runNums.get(r.run_id), keyIds.get(r.key), r.value, r.is_nan, r.timestamp, r.step);
  await insertMetricCells({ tx, dialect, cells });
}

/**
 * Moves each key's latest value forward. "Latest" is MLflow's order: highest step, then newest
 * timestamp, then largest value (NaN counted as largest). The WHERE keeps concurrent writers from
 * moving it backwards.
 */
export async function upsertLatestMetrics({
  tx,
  rows,
}: {
  tx: Executor;
  rows: LatestMetricTable[];
}): Promise<void> {
  for (const part of chunks(inKeyOrder(rows), CHUNK)) {
    await tx
      .insertInto('latest_metrics')
      .values(part)
      .onConflict((oc) =>
        oc
          .columns(['run_id', 'key'])
          .doUpdateSet({
            value: sql`excluded.value`,
            is_nan: sql`excluded.is_nan`,
            timestamp: sql`excluded.timestamp`,
            step: sql`excluded.step`,
          })
          .where(
            sql<boolean>`excluded.step > latest_metrics.step
              or (excluded.step = latest_metrics.step and excluded.timestamp > latest_metrics.timestamp)
              or (excluded.step = latest_metrics.step and excluded.timestamp = latest_metrics.timestamp
                  and (excluded.is_nan > latest_metrics.is_nan
                       or (excluded.is_nan = latest_metrics.is_nan and excluded.value > latest_metrics.value)))`,
          ),
      )
      .execute();
  }
}

export async function listParams({ tx, runIds }: { tx: Executor; runIds: string[] }) {
  if (runIds.length === 0) return [];
  return tx.selectFrom('params').selectAll().where('run_id', 'in', runIds).execute();
}

export async function listTags({ tx, runIds }: { tx: Executor; runIds: string[] }) {
  if (runIds.length === 0) return [];
  return tx.selectFrom('run_tags').selectAll().where('run_id', 'in', runIds).execute();
}

/**
 * Latest metrics of many runs, each run's in key order. Ordered by (run_id, key), the primary key's
 * own order: SQLite reads it off the index instead of sorting every row of a 1,000-run page by key.
 */
export async function listLatestMetrics({ tx, runIds }: { tx: Executor; runIds: string[] }) {
  if (runIds.length === 0) return [];
  return tx
    .selectFrom('latest_metrics')
    .selectAll()
    .where('run_id', 'in', runIds)
    .orderBy('run_id')
    .orderBy('key')
    .execute();
}

export async function listInputs({ tx, runIds }: { tx: Executor; runIds: string[] }) {
  if (runIds.length === 0) return [];
  return tx.selectFrom('run_inputs').selectAll().where('run_id', 'in', runIds).orderBy('id').execute();
}

export async function insertInputs({ tx, rows }: { tx: Executor; rows: RunInputTable[] }): Promise<void> {
  if (rows.length > 0) await tx.insertInto('run_inputs').values(rows).execute();
}
