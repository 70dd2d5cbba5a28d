import { readFileSync } from 'node:fs';
import type { BlobStore } from '../../blobs/index.js';
import type { Executor } from '../../store/index.js';
import type { PredictionTable } from '../../store/schema-serving.js';
import { compareKeys, mergeSorted } from './row-order.js';
import {
  getSegments,
  listSegmentsForIdRange,
  listSegmentsOverlapping,
  type SegmentRow,
} from './segment.repo.js';
import { decodeSegment } from './segment-file.js';
import {
  countParquetMatching,
  countParquetRows,
  localParquet,
  type ParquetWhere,
  readParquetRows,
  rowsOfGroups,
} from './segment-parquet.js';
import { hostOf, SEGMENT_HOST } from './segment-writer.js';

/*
 * Reads predictions out of the segments of the log: sealed segments through DuckDB over their Parquet
 * blobs (copied once into a local cache), open segments from their files (whole frames only: a frame
 * being written is not acknowledged yet). The index rows narrow every read: a lookup by id reads the
 * sealed segments whose id range covers it, a scan those whose time range overlaps the window.
 *
 * An open segment is readable on the host that appends to it; a segment sealed between listing and
 * reading is read again from its blob.
 */

export interface SegmentQuery {
  deploymentIds?: string[] | undefined;
  since?: number | undefined;
  until?: number | undefined;
  modelVersionId?: string | undefined;
}

/** A query with the row-level conditions a listing or a count needs. */
export interface SegmentRowQuery extends SegmentQuery {
  model?: string | undefined;
  version?: number | undefined;
  /** 'exclude': answered ones only; 'only': failed ones only; undefined: both. */
  failed?: 'exclude' | 'only' | undefined;
}

/** A sealed segment to read: its local Parquet file on demand, and what its index row says of its rows. */
export interface SealedFile {
  /** The local copy of the segment's blob, copied into the cache on the first call (not before: a scan that stops early copies nothing more). */
  local: () => Promise<string>;
  rowCount: number;
  firstAt: number;
  lastAt: number;
  minId: string;
  maxId: string;
}

/** One page of rows: the first `limit` past the cursor in (served_at, id) order. */
export interface SegmentPageQuery extends SegmentRowQuery {
  order: 'oldest' | 'newest';
  after?: { servedAt: number; id: string } | undefined;
  limit: number;
}

function matches(r: PredictionTable, w: ParquetWhere): boolean {
  if (w.id !== undefined && r.id !== w.id) return false;
  if (w.ids !== undefined && !w.ids.includes(r.id)) return false;
  if (w.deploymentIds !== undefined && !w.deploymentIds.includes(r.deployment_id)) return false;
  if (w.since !== undefined && r.served_at < w.since) return false;
  if (w.until !== undefined && r.served_at >= w.until) return false;
  if (w.modelVersionId !== undefined && r.model_version_id !== w.modelVersionId) return false;
  if (w.model !== undefined && r.model !== w.model) return false;
  if (w.version !== undefined && Number(r.version) !== w.version) return false;
  if (w.failed === 'exclude' && r.error !== null) return false;
  if (w.failed === 'only' && r.error === null) return false;
  if (w.after !== undefined) {
    const c = compareKeys(r, { served_at: w.after.servedAt, id: w.after.id });
    if (w.order === 'newest' ? c >= 0 : c <= 0) return false;
  }
  return true;
}

const whereOf = (q: SegmentRowQuery): ParquetWhere => ({
  deploymentIds: q.deploymentIds,
  since: q.since,
  until: q.until,
  modelVersionId: q.modelVersionId,
  model: q.model,
  version: q.version,
  failed: q.failed,
});

/** The reader of the segment log. */
export function createSegmentReader(deps: { db: Executor; blobs: BlobStore; cacheDir: string }) {
  const { db, blobs, cacheDir } = deps;

  /** The rows of open segments' files matching `where`; undefined for a segment whose file is gone (sealed since). */
  function openRows(s: SegmentRow, where: ParquetWhere): PredictionTable[] | undefined {
    if (hostOf(s.host) !== SEGMENT_HOST || !s.path) return [];
    let bytes: Buffer;
    try {
      bytes = readFileSync(s.path);
    } catch {
      return undefined;
    }
    // A lookup by id skips a file that does not hold the id's text at all, without decoding it. An
    // entry holding a non-well-formed string keeps its strings in UTF-16LE (entry-*.ts): both count.
    if (
      where.id !== undefined &&
      !bytes.includes(where.id) &&
      !bytes.includes(Buffer.from(where.id, 'utf16le'))
    )
      return [];
    return rowsOfGroups(decodeSegment(bytes).groups).filter((r) => matches(r, where));
  }

  /**
   * Open segments' rows matching `where` (bounded: an open segment holds at most its size limit), and
   * the sealed segments to read: those given, plus open ones sealed since they were listed.
   */
  async function splitOpen(
    segments: SegmentRow[],
    where: ParquetWhere,
  ): Promise<{ openRows: PredictionTable[]; sealed: SegmentRow[] }> {
    const sealed: SegmentRow[] = [];
    const rows: PredictionTable[] = [];
    const gone: string[] = [];
    for (const s of segments) {
      if (s.state === 'sealed') sealed.push(s);
      else {
        const got = openRows(s, where);
        // One at a time: a spread of 100,000 rows overflows the stack.
        if (got) for (const r of got) rows.push(r);
        else gone.push(s.id);
      }
    }
    if (gone.length > 0) {
      const again = await getSegments({ tx: db, ids: gone });
      sealed.push(...again.filter((s) => s.state === 'sealed'));
    }
    return { openRows: rows, sealed: sealed.filter((s) => s.row_count > 0 && s.blob_key) };
  }

  async function sealedRows(segments: SegmentRow[], where: ParquetWhere): Promise<PredictionTable[]> {
    const keys = [
      ...new Set(segments.filter((s) => s.row_count > 0 && s.blob_key).map((s) => s.blob_key as string)),
    ];
    const files = await Promise.all(keys.map((k) => localParquet(blobs, k, cacheDir)));
    return readParquetRows(files, where);
  }

  async function rowsOf(segments: SegmentRow[], where: ParquetWhere): Promise<PredictionTable[]> {
    const { openRows: out, sealed } = await splitOpen(segments, where);
    for (const r of await sealedRows(sealed, where)) out.push(r);
    return out;
  }

  return {
    /** The row of one prediction id, or undefined. */
    async find(id: string): Promise<PredictionTable | undefined> {
      const segments = await listSegmentsForIdRange({ tx: db, minId: id, maxId: id });
      return (await rowsOf(segments, { id }))[0];
    },
    /** The rows of these prediction ids that the segments hold (any order). */
    async findMany(ids: string[]): Promise<PredictionTable[]> {
      if (ids.length === 0) return [];
      // One query for the whole id range, then only the segments whose range holds one of the ids.
      const sorted = [...ids].sort(byCodeUnit);
      const candidates = await listSegmentsForIdRange({
        tx: db,
        minId: sorted[0]!,
        maxId: sorted[sorted.length - 1]!,
      });
      const segments = candidates.filter(
        (s) => s.state === 'open' || holdsOneOf(sorted, String(s.min_id), String(s.max_id)),
      );
      if (segments.length === 0) return [];
      const wanted = new Set(ids);
      const rows = await rowsOf(segments, { ids });
      return rows.filter((r) => wanted.has(r.id));
    },
    /**
     * Rows per (deployment, model version) served in [since, until), failed ones included. A sealed
     * segment of one version lying wholly inside the window counts from its index row alone.
     */
    async countByVersion(q: {
      since: number;
      until: number;
      deploymentId?: string | undefined;
    }): Promise<{ deploymentId: string; versionId: string; n: number }[]> {
      const segs = await listSegmentsOverlapping({
        tx: db,
        deploymentIds: q.deploymentId === undefined ? undefined : [q.deploymentId],
        since: q.since,
        until: q.until,
      });
      const counts = new Map<string, { deploymentId: string; versionId: string; n: number }>();
      const add = (deploymentId: string, versionId: string, n: number) => {
        const k = `${deploymentId}\u0000${versionId}`;
        const c = counts.get(k);
        if (c) c.n += n;
        else counts.set(k, { deploymentId, versionId, n });
      };
      const toRead: SegmentRow[] = [];
      for (const s of segs) {
        const versions = JSON.parse(s.model_version_ids) as string[];
        const inside = s.state === 'sealed' && Number(s.first_at) >= q.since && Number(s.last_at) < q.until;
        if (inside && versions.length === 1 && versions[0]) add(s.deployment_id, versions[0], s.row_count);
        else toRead.push(s);
      }
      const open = toRead.filter((s) => s.state !== 'sealed');
      for (const r of await rowsOf(open, { since: q.since, until: q.until }))
        add(r.deployment_id, r.model_version_id, 1);
      const sealed = toRead.filter((s) => s.state === 'sealed' && s.row_count > 0 && s.blob_key);
      const files = await Promise.all(sealed.map((s) => localParquet(blobs, s.blob_key as string, cacheDir)));
      for (const c of await countParquetRows(files, q.since, q.until)) add(c.deploymentId, c.versionId, c.n);
      return [...counts.values()];
    },
    /**
     * The first `limit` rows past the cursor, in order. Sealed segments are read newest first (a
     * listing) or oldest first (a scan), each with the limit pushed into DuckDB, and only until the
     * segments left cannot hold a row that comes before the page's last one: a page reads a few
     * segments, not the window.
     */
    async page(q: SegmentPageQuery): Promise<PredictionTable[]> {
      const limit = Math.max(1, Math.floor(q.limit));
      const segs = await listSegmentsOverlapping({
        tx: db,
        deploymentIds: q.deploymentIds,
        since: q.since,
        until: q.until,
      });
      const where: ParquetWhere = { ...whereOf(q), after: q.after, order: q.order };
      const { openRows: fromOpen, sealed } = await splitOpen(segs, where);
      const newest = q.order === 'newest';
      const sorted = (rows: PredictionTable[]) => {
        rows.sort(compareKeys);
        if (newest) rows.reverse();
        return rows;
      };
      let page = sorted(fromOpen).slice(0, limit);
      sealed.sort((a, b) =>
        newest ? Number(b.last_at) - Number(a.last_at) : Number(a.first_at) - Number(b.first_at),
      );
      for (const s of sealed) {
        const first = Number(s.first_at);
        const last = Number(s.last_at);
        const kth = page.length >= limit ? page[limit - 1] : undefined;
        // Segments come in order of their nearest end: once one starts past the page's last row, so do the rest.
        if (kth && (newest ? last < Number(kth.served_at) : first > Number(kth.served_at))) break;
        // Wholly on the far side of the cursor: nothing to read.
        if (q.after && (newest ? first > q.after.servedAt : last < q.after.servedAt)) continue;
        const file = await localParquet(blobs, s.blob_key as string, cacheDir);
        const rows = await readParquetRows([file], { ...where, limit });
        page = mergeSorted(page, rows, q.order, limit);
      }
      return page;
    },
    /**
     * How many rows match. A sealed segment wholly inside the window counts from its index row when
     * no row-level condition applies; the others are counted by DuckDB (no row read into memory).
     */
    async count(q: SegmentRowQuery): Promise<number> {
      const segs = await listSegmentsOverlapping({
        tx: db,
        deploymentIds: q.deploymentIds,
        since: q.since,
        until: q.until,
      });
      const where = whereOf(q);
      const rowLevel = q.model !== undefined || q.version !== undefined || q.failed !== undefined;
      let n = 0;
      const toRead: SegmentRow[] = [];
      for (const s of segs) {
        const inside =
          s.state === 'sealed' &&
          (q.since === undefined || Number(s.first_at) >= q.since) &&
          (q.until === undefined || Number(s.last_at) < q.until);
        const versions = JSON.parse(s.model_version_ids) as string[];
        const oneVersion =
          q.modelVersionId === undefined || (versions.length === 1 && versions[0] === q.modelVersionId);
        if (inside && !rowLevel && oneVersion) n += s.row_count;
        else if (
          !(s.state === 'sealed' && q.modelVersionId !== undefined && !versions.includes(q.modelVersionId))
        )
          toRead.push(s);
      }
      const { openRows: fromOpen, sealed } = await splitOpen(toRead, where);
      n += fromOpen.length;
      const files = await Promise.all(sealed.map((s) => localParquet(blobs, s.blob_key as string, cacheDir)));
      return n + (await countParquetMatching(files, where));
    },
    /**
     * What a columnar scan reads: the matching rows of open segments (in no particular order) and the
     * sealed segments that may hold matching rows, with their index ranges; none is copied locally yet.
     */
    async scanSources(q: SegmentRowQuery): Promise<{ openRows: PredictionTable[]; sealed: SealedFile[] }> {
      const segs = await listSegmentsOverlapping({
        tx: db,
        deploymentIds: q.deploymentIds,
        since: q.since,
        until: q.until,
      });
      // A sealed segment lists every version it holds: one without the wanted version is never read.
      const wanted = segs.filter(
        (s) =>
          s.state !== 'sealed' ||
          q.modelVersionId === undefined ||
          (JSON.parse(s.model_version_ids) as string[]).includes(q.modelVersionId),
      );
      const { openRows: rows, sealed } = await splitOpen(wanted, whereOf(q));
      const files = sealed.map(
        (s): SealedFile => ({
          local: () => localParquet(blobs, s.blob_key as string, cacheDir),
          rowCount: s.row_count,
          firstAt: Number(s.first_at),
          lastAt: Number(s.last_at),
          minId: String(s.min_id),
          maxId: String(s.max_id),
        }),
      );
      return { openRows: rows, sealed: files };
    },
    /** Every row of the segments matching the query, in no particular order. */
    async rows(q: SegmentQuery): Promise<PredictionTable[]> {
      const segments = await listSegmentsOverlapping({
        tx: db,
        deploymentIds: q.deploymentIds,
        since: q.since,
        until: q.until,
      });
      return rowsOf(segments, { since: q.since, until: q.until, modelVersionId: q.modelVersionId });
    },
  };
}

export type SegmentReader = ReturnType<typeof createSegmentReader>;

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Whether sorted `ids` (code-unit order, as SQL compares the ids) hold one in [min, max]. */
function holdsOneOf(sorted: string[], min: string, max: string): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < min) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo]! <= max;
}
