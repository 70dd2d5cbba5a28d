import type { Executor } from '../../store/index.js';
import {
  findLabelRows,
  findLabelRowsInIdRange,
  type PredictionFilter,
  type PredictionWithLabelRow,
  pagePredictionRows,
  predictionTimeRange,
} from './prediction.repo.js';
import {
  columnsOfRows,
  type KeyedColumns,
  mergeColumns,
  type PredictionColumns,
  type RowLabel,
} from './prediction-columns.js';
import { compareKeys } from './row-order.js';
import { readSealedColumns } from './segment-columns.js';
import type { SealedFile, SegmentReader } from './segment-reader.js';

/*
 * The columnar scan of the prediction log (what monitoring reads): the same rows as the store's scan
 * (answered predictions, oldest first by (served_at, id), labels joined) as pages of columns. Three
 * sources merge: the `predictions` table a page at a time, the open segments' rows (bounded by their
 * size limit), and the sealed segments through DuckDB, a window of segments at a time.
 *
 * Sealed segments whose time ranges touch form one group; groups follow each other in time. Rows are
 * appended in completion order and replicas write side by side, so consecutive segments usually
 * overlap and a busy deployment's history is one long group: a group is read in served_at windows of
 * a few segments each (one sorted query per window, DuckDB skipping row groups outside it), so memory
 * and work stay bounded by a window whatever the scan's length. A segment is copied locally only when
 * the scan reaches its window: a consumer that stops early (the first N rows) copies nothing more.
 * Ids (costly strings) are read only for a window that the table or an open segment may tie with in
 * served_at.
 */

export interface PredictionColumnQuery {
  deploymentId?: string | undefined;
  modelVersionId?: string | undefined;
  /** Epoch ms, inclusive. */
  since?: number | undefined;
  /** Epoch ms, exclusive. */
  until?: number | undefined;
  /** The input features to read (each a column of every page); undefined: every feature the rows hold. */
  features?: readonly string[] | undefined;
  /** Rows per page (default 5000). */
  batchSize?: number | undefined;
}

type Range = { first: number; last: number } | undefined;

const touches = (a: Range, first: number, last: number) =>
  a !== undefined && a.first <= last && first <= a.last;

/** Sealed files in groups whose time ranges touch, the groups in time order. */
function groupsOf(files: SealedFile[]): SealedFile[][] {
  const sorted = [...files].sort((a, b) => a.firstAt - b.firstAt);
  const groups: SealedFile[][] = [];
  let last = Number.NEGATIVE_INFINITY;
  for (const f of sorted) {
    const g = groups[groups.length - 1];
    if (g && f.firstAt <= last) g.push(f);
    else groups.push([f]);
    last = Math.max(last, f.lastAt);
  }
  return groups;
}

/** Most segments and rows one sorted read of a window takes (a window holds at least one segment). */
export const WINDOW_SEGMENTS = 8;
export const WINDOW_ROWS = 400_000;

/** Served_at range [since, until) of a group and the segments that may hold rows in it. */
interface Window {
  files: SealedFile[];
  since: number;
  until: number;
}

/**
 * A group (sorted by firstAt) cut into windows: each starts at the first row of its first segment,
 * takes up to WINDOW_SEGMENTS segments or WINDOW_ROWS rows by start, and ends where the next begins.
 * Segments starting earlier that reach into the window are read too (their rows in it only).
 */
function windowsOf(group: SealedFile[]): Window[] {
  const starts: number[] = [];
  let segs = 0;
  let rows = 0;
  group.forEach((f, i) => {
    if (i === 0 || segs === WINDOW_SEGMENTS || rows + f.rowCount > WINDOW_ROWS) {
      starts.push(i);
      segs = 0;
      rows = 0;
    }
    segs++;
    rows += f.rowCount;
  });
  const end = Math.max(...group.map((f) => f.lastAt)) + 1;
  const windows: Window[] = [];
  starts.forEach((at, k) => {
    const since = (group[at] as SealedFile).firstAt;
    const next = starts[k + 1];
    const until = next === undefined ? end : (group[next] as SealedFile).firstAt;
    // Segments starting at the same millisecond leave an empty window: the next one reads them.
    if (since < until)
      windows.push({ files: group.filter((f) => f.firstAt < until && f.lastAt >= since), since, until });
  });
  return windows;
}

async function* pagesOf(rows: KeyedColumns[]): AsyncIterable<KeyedColumns> {
  yield* rows;
}

/** Pages of columns of the log matching the query, oldest first. */
export async function* scanColumns(
  deps: { db: Executor; segments: SegmentReader },
  q: PredictionColumnQuery,
): AsyncIterable<PredictionColumns> {
  const { db, segments } = deps;
  const limit = Math.max(1, Math.min(100_000, q.batchSize ?? 5000));
  const filter: PredictionFilter = {
    deploymentId: q.deploymentId,
    modelVersionId: q.modelVersionId,
    since: q.since,
    until: q.until,
  };
  const deploymentIds = q.deploymentId === undefined ? undefined : [q.deploymentId];
  const where = { deploymentIds, since: q.since, until: q.until, modelVersionId: q.modelVersionId };
  const [tableRange, fromSegments] = await Promise.all([
    predictionTimeRange({ tx: db, filter }),
    segments.scanSources({ ...where, failed: 'exclude' }),
  ]);

  const open = fromSegments.openRows.sort(compareKeys);
  const openLabels = await findLabelRows({ tx: db, ids: open.map((r) => r.id) });
  const openPages: KeyedColumns[] = [];
  for (let i = 0; i < open.length; i += limit)
    openPages.push(
      columnsOfRows(
        open.slice(i, i + limit).map((r): PredictionWithLabelRow => {
          const l = openLabels.get(r.id);
          return { ...r, label: l?.label ?? null, label_received_at: l?.received_at ?? null };
        }),
        q.features,
      ),
    );
  const first = open[0];
  const last = open[open.length - 1];
  const openRange: Range =
    first && last ? { first: Number(first.served_at), last: Number(last.served_at) } : undefined;

  async function* table(): AsyncIterable<KeyedColumns> {
    if (!tableRange) return;
    let after: { servedAt: number; id: string } | undefined;
    for (;;) {
      const rows = await pagePredictionRows({ tx: db, filter, order: 'oldest', after, limit });
      if (rows.length > 0) yield columnsOfRows(rows, q.features);
      const end = rows[rows.length - 1];
      if (rows.length < limit || !end) return;
      after = { servedAt: Number(end.served_at), id: end.id };
    }
  }

  async function* sealed(): AsyncIterable<KeyedColumns> {
    for (const group of groupsOf(fromSegments.sealed))
      for (const w of windowsOf(group)) {
        const since = Math.max(w.since, q.since ?? w.since);
        const until = Math.min(w.until, q.until ?? w.until);
        if (since >= until) continue;
        // Code-unit order, as the ids compare in SQL and in the segments' index rows.
        const ids = w.files.flatMap((f) => [f.minId, f.maxId]).sort();
        const minId = ids[0] as string;
        const maxId = ids[ids.length - 1] as string;
        const labels: RowLabel[] = (
          await findLabelRowsInIdRange({ tx: db, deploymentIds, minId, maxId })
        ).map((l) => ({
          predictionId: l.prediction_id,
          value: JSON.parse(l.label) as RowLabel['value'],
          receivedAt: l.received_at,
        }));
        yield* readSealedColumns({
          files: await Promise.all(w.files.map((f) => f.local())),
          where: { ...where, since, until },
          features: q.features,
          withIds: touches(tableRange, since, until - 1) || touches(openRange, since, until - 1),
          labels,
        });
      }
  }

  yield* mergeColumns([table(), pagesOf(openPages), sealed()], limit);
}
