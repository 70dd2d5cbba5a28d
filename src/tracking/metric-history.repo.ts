import { sql } from 'kysely';
import type { Executor } from '../store/index.js';

/* The queries of metric-history.ts: one slice by keyset, and a count. */

export interface HistoryRow {
  id: number;
  key: string;
  value: number | null;
  is_nan: number;
  timestamp: number;
  step: number;
}

/** Where a page starts: after this (step, timestamp, id), or (tokens from before keysets) at an offset. */
export interface HistoryCursor {
  after?: [number, number, number];
  offset?: number;
}

export interface HistoryRange {
  runId: string;
  key: string;
  startStep?: number;
  endStep?: number;
}

/*
 * History rows name their run and key by surrogate key (migration 029). Each is looked up by a scalar
 * subquery, which both databases run once and then use as an equality on the (run_num, key_id, step)
 * index; a run or key never logged finds no number and so no rows.
 */
const runNumOf = (tx: Executor, runId: string) =>
  tx.selectFrom('run_numbers').select('num').where('run_id', '=', runId);
const keyIdOf = (tx: Executor, key: string) =>
  tx.selectFrom('metric_keys').select('id').where('name', '=', key);

/** One slice of a history in (step, timestamp, id) order, after a cursor. */
export async function readSlice(
  tx: Executor,
  range: HistoryRange,
  cursor: HistoryCursor,
  limit: number,
): Promise<HistoryRow[]> {
  let q = tx
    .selectFrom('metrics')
    .select(['id', 'value', 'is_nan', 'timestamp', 'step'])
    .where('run_num', '=', runNumOf(tx, range.runId))
    .where('key_id', '=', keyIdOf(tx, range.key));
  if (range.startStep !== undefined) q = q.where('step', '>=', range.startStep);
  if (range.endStep !== undefined) q = q.where('step', '<=', range.endStep);
  if (cursor.after) {
    const [step, timestamp, id] = cursor.after;
    // `step >= ?` first, so the (run_id, key, step) index bounds the scan; the rest breaks ties.
    q = q
      .where('step', '>=', step)
      .where(
        sql<boolean>`(step > ${step} or timestamp > ${timestamp} or (timestamp = ${timestamp} and id > ${id}))`,
      );
  }
  q = q.orderBy('step').orderBy('timestamp').orderBy('id').limit(limit);
  if (!cursor.after && cursor.offset) q = q.offset(cursor.offset);
  return (await q.execute()).map((r) => ({
    ...r,
    key: range.key,
    id: Number(r.id),
    timestamp: Number(r.timestamp),
    step: Number(r.step),
  }));
}

/** How many points a range holds (one indexed count; no rows leave the database). */
export async function countHistory(tx: Executor, range: HistoryRange): Promise<number> {
  let q = tx
    .selectFrom('metrics')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('run_num', '=', runNumOf(tx, range.runId))
    .where('key_id', '=', keyIdOf(tx, range.key));
  if (range.startStep !== undefined) q = q.where('step', '>=', range.startStep);
  if (range.endStep !== undefined) q = q.where('step', '<=', range.endStep);
  return Number((await q.executeTakeFirst())?.n ?? 0);
}

/**
 * The history rows with their run id and key name in place of the surrogate keys, for checks and
 * tools that look across runs (a query to refine: `namedMetricHistory(db).where('run_id', '=', id)`).
 */
export function namedMetricHistory(tx: Executor) {
  return tx
    .selectFrom((eb) =>
      eb
        .selectFrom('metrics as m')
        .innerJoin('run_numbers as r', 'r.num', 'm.run_num')
        .innerJoin('metric_keys as k', 'k.id', 'm.key_id')
        .select(['m.id', 'r.run_id', 'k.name as key', 'm.value', 'm.is_nan', 'm.timestamp', 'm.step'])
        .as('h'),
    )
    .selectAll('h');
}
