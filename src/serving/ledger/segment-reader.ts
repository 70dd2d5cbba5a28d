import { readFileSync } from 'node:fs';
import type { BlobStore } from '../../blobs/index.js';
import type { Executor } from '../../store/index.js';
import type { PredictionTable } from '../../store/schema-serving.js';
import { listSegmentsForId, listSegmentsOverlapping, type SegmentRow } from './segment.repo.js';
import { decodeSegment } from './segment-file.js';
import {
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

function matches(r: PredictionTable, w: ParquetWhere): boolean {
  if (w.id !== undefined && r.id !== w.id) return false;
  if (w.ids !== undefined && !w.ids.includes(r.id)) return false;
  if (w.since !== undefined && r.served_at < w.since) return false;
  if (w.until !== undefined && r.served_at >= w.until) return false;
  if (w.modelVersionId !== undefined && r.model_version_id !== w.modelVersionId) return false;
  return true;
}

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
    // A lookup by id skips a file that does not hold the id's text at all, without decoding it.
    if (where.id !== undefined && !bytes.includes(where.id)) return [];
    return rowsOfGroups(decodeSegment(bytes).groups).filter((r) => matches(r, where));
  }

  async function sealedRows(segments: SegmentRow[], where: ParquetWhere): Promise<PredictionTable[]> {
    const keys = [
      ...new Set(segments.filter((s) => s.row_count > 0 && s.blob_key).map((s) => s.blob_key as string)),
    ];
    const files = await Promise.all(keys.map((k) => localParquet(blobs, k, cacheDir)));
    return readParquetRows(files, where);
  }

  async function rowsOf(segments: SegmentRow[], where: ParquetWhere): Promise<PredictionTable[]> {
    const sealed: SegmentRow[] = [];
    const out: PredictionTable[] = [];
    const gone: string[] = [];
    for (const s of segments) {
      if (s.state === 'sealed') sealed.push(s);
      else {
        const rows = openRows(s, where);
        // One at a time: a spread of 100,000 rows overflows the stack.
        if (rows) for (const r of rows) out.push(r);
        else gone.push(s.id);
      }
    }
    if (gone.length > 0) {
      const again = await db.selectFrom('prediction_segments').selectAll().where('id', 'in', gone).execute();
      sealed.push(...again.filter((s) => s.state === 'sealed'));
    }
    for (const r of await sealedRows(sealed, where)) out.push(r);
    return out;
  }

  return {
    /** The row of one prediction id, or undefined. */
    async find(id: string): Promise<PredictionTable | undefined> {
      const segments = await listSegmentsForId({ tx: db, id });
      return (await rowsOf(segments, { id }))[0];
    },
    /** The rows of these prediction ids that the segments hold (any order). */
    async findMany(ids: string[]): Promise<PredictionTable[]> {
      if (ids.length === 0) return [];
      const byId = new Map<string, SegmentRow>();
      for (const id of ids) for (const s of await listSegmentsForId({ tx: db, id })) byId.set(s.id, s);
      const wanted = new Set(ids);
      const rows = await rowsOf([...byId.values()], { ids });
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
