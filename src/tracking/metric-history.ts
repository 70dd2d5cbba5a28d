import { ValidationError } from '../core/errors.js';
import type { Executor } from '../store/index.js';
import {
  countHistory,
  type HistoryCursor,
  type HistoryRange,
  type HistoryRow,
  readSlice,
} from './metric-history.repo.js';

export type { HistoryCursor, HistoryRange, HistoryRow };

/*
 * Reading a metric's history without stalling the server. A run may hold millions of points of one
 * metric; SQLite answers on the event loop's thread, so one big query (or one big reply) stops every
 * other request. Histories are read in slices of SLICE rows by keyset (step, timestamp, id), and the
 * loop is handed back between slices; pages are capped at HISTORY_PAGE_MAX points.
 */

/** Points per page of any history read; a page larger than this is refused, naming the limit. */
export const HISTORY_PAGE_MAX = 100_000;
/** The page size when a client gives none (MLflow's client asks for this many per page itself). */
export const HISTORY_PAGE_DEFAULT = 25_000;
/** Run ids per bulk-interval read (MLflow's limit). */
export const HISTORY_BULK_RUNS_MAX = 100;
/** Points per run that a bulk-interval read may return (MLflow's limit). */
export const HISTORY_BULK_POINTS_MAX = 2500;
/** Rows per query: small enough that one slice holds the thread for a few milliseconds. */
const SLICE = 2000;

/** Lets the event loop answer other requests between slices. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Opaque page token of a history page: base64 of {"offset": n, "after": [step, timestamp, id]}. */
export function encodeHistoryToken(offset: number, last: HistoryRow): string {
  const after = [Number(last.step), Number(last.timestamp), Number(last.id)];
  return Buffer.from(JSON.stringify({ offset, after }), 'utf8').toString('base64');
}

/** Reads a history page token; undefined or '' is the first page. Plain {"offset"} tokens still work. */
export function decodeHistoryToken(
  token: string | undefined,
  field: string,
): HistoryCursor & { offset: number } {
  if (!token) return { offset: 0 };
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
      offset?: unknown;
      after?: unknown;
    };
    const offset = parsed.offset;
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) {
      const a = parsed.after;
      if (a === undefined) return { offset };
      if (Array.isArray(a) && a.length === 3 && a.every((x) => Number.isSafeInteger(x))) {
        return { offset, after: a as [number, number, number] };
      }
    }
  } catch {
    // fall through to the error below
  }
  throw new ValidationError(`${field}: invalid page token`, { field });
}

/** Throws a ValidationError naming the cap unless 1 <= n <= HISTORY_PAGE_MAX. */
export function checkHistoryPageSize(n: number, field: string): void {
  if (!Number.isInteger(n) || n < 1 || n > HISTORY_PAGE_MAX) {
    throw new ValidationError(
      `${field}: must be an integer from 1 to ${HISTORY_PAGE_MAX} points per page, got ${String(n)}`,
      { field, limit: HISTORY_PAGE_MAX },
    );
  }
}

/**
 * Up to `limit` points from a cursor, read slice by slice. Returns the rows and whether more follow.
 */
export async function readHistory(
  tx: Executor,
  range: HistoryRange,
  start: HistoryCursor,
  limit: number,
): Promise<{ rows: HistoryRow[]; more: boolean }> {
  const rows: HistoryRow[] = [];
  let cursor = start;
  // One extra row says whether another page follows.
  while (rows.length < limit + 1) {
    const want = Math.min(SLICE, limit + 1 - rows.length);
    const slice = await readSlice(tx, range, cursor, want);
    for (const r of slice) rows.push(r);
    if (slice.length < want) break;
    const last = slice[slice.length - 1]!;
    cursor = { after: [last.step, last.timestamp, last.id] };
    await yieldToLoop();
  }
  const more = rows.length > limit;
  if (more) rows.length = limit;
  return { rows, more };
}

/**
 * At most `maxPoints` points spread evenly over a range, the first and last always kept (MLflow's
 * sampling). The range is read in slices, so the thread is never held for long.
 */
export async function sampleHistory(
  tx: Executor,
  range: HistoryRange,
  maxPoints: number,
): Promise<HistoryRow[]> {
  const total = await countHistory(tx, range);
  if (total === 0) return [];
  const stride = Math.max(1, Math.ceil(total / maxPoints));
  const out: HistoryRow[] = [];
  let cursor: HistoryCursor = {};
  let index = 0;
  for (;;) {
    const slice = await readSlice(tx, range, cursor, SLICE);
    for (const r of slice) {
      if (index % stride === 0 || index === total - 1) out.push(r);
      index++;
    }
    if (slice.length < SLICE) break;
    const last = slice[slice.length - 1]!;
    cursor = { after: [last.step, last.timestamp, last.id] };
    await yieldToLoop();
  }
  return out;
}
