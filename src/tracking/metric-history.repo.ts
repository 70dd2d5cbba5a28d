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

/** One slice of a history in (step, timestamp, id) order, after a cursor. */
export async function readSlice(
  tx: Executor,
  range: HistoryRange,
  cursor: HistoryCursor,
  limit: number,
): Promise<HistoryRow[]> {
  let q = tx
    .selectFrom('metrics')
    .select(['id', 'key', 'value', 'is_nan', 'timestamp', 'step'])
    .where('run_id', '=', range.runId)
    .where('key', '=', range.key);
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
    .where('run_id', '=', range.runId)
    .where('key', '=', range.key);
  if (range.startStep !== undefined) q = q.where('step', '>=', range.startStep);
  if (range.endStep !== undefined) q = q.where('step', '<=', range.endStep);
  return Number((await q.executeTakeFirst())?.n ?? 0);
}
