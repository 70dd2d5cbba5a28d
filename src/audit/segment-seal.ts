import type { Db } from '../store/index.js';
import type { AuditProblem } from './audit.schema.js';
import * as seals from './prediction-seal.repo.js';

/*
 * The segments of the prediction log are sealed into the chain as they are written: each sealed
 * segment's entry records its blob (the sha256 of its Parquet file, which the blob store verifies on
 * every read), its row count and its id and time ranges. `audit verify --deep` compares the index
 * rows with those entries: a segment whose row was changed, dropped, or added behind the log's back is
 * named. A segment dropped by `predictions prune` is named by the prune's entry and checked no further.
 */

interface SegmentSeal {
  rowCount: number;
  blobKey: string | null;
  minId: string | null;
  maxId: string | null;
  firstAt: number | null;
  lastAt: number | null;
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** --deep: sealed segments whose index row differs from their seal entry, or that no entry records. */
export async function segmentSealProblems(db: Db, upTo: number): Promise<AuditProblem[]> {
  const expected = new Map<string, { seq: number; seal: SegmentSeal }>();
  const pruned = new Set<string>();
  for (let afterSeq = 0; ; ) {
    const page = await seals.listSegmentSeals(db, afterSeq, upTo);
    for (const e of page) {
      if (e.action === seals.SEGMENT_PRUNE_ACTION) {
        // Dropped by an audited prune: its index row is kept, marked pruned, and checked no further.
        for (const id of (JSON.parse(e.details ?? '{}') as { segmentIds?: string[] }).segmentIds ?? []) {
          expected.delete(id);
          pruned.add(id);
        }
      } else expected.set(e.entity_id, { seq: e.seq, seal: JSON.parse(e.details ?? '{}') as SegmentSeal });
    }
    if (page.length === 0) break;
    afterSeq = page[page.length - 1]!.seq;
  }
  const problems: AuditProblem[] = [];
  const seen = new Set<string>();
  for (const row of await seals.listSealedSegments(db)) {
    seen.add(row.id);
    if (pruned.has(row.id)) continue;
    const want = expected.get(row.id);
    if (row.state === 'pruned') {
      // Marked pruned with no prune entry naming it: its predictions were hidden behind the log's back.
      problems.push({
        kind: 'row-changed',
        seq: want?.seq ?? null,
        message: `prediction segment ${row.id}: marked pruned, but no prune entry names it`,
      });
      continue;
    }
    if (!want) {
      if (row.row_count > 0)
        problems.push({
          kind: 'row-unrecorded',
          seq: null,
          message: `prediction segment ${row.id}: sealed with ${row.row_count} rows, but no audit entry records it`,
        });
      continue;
    }
    const now: SegmentSeal = {
      rowCount: Number(row.row_count),
      blobKey: row.blob_key,
      minId: row.min_id,
      maxId: row.max_id,
      firstAt: num(row.first_at),
      lastAt: num(row.last_at),
    };
    const diffs = (Object.keys(now) as (keyof SegmentSeal)[])
      .filter((k) => now[k] !== (k === 'firstAt' || k === 'lastAt' ? num(want.seal[k]) : want.seal[k]))
      .map((k) => `${k} is ${now[k]}, entry ${want.seq} recorded ${want.seal[k]}`);
    if (diffs.length > 0)
      problems.push({
        kind: 'row-changed',
        seq: want.seq,
        message: `prediction segment ${row.id}: ${diffs.join('; ')}`,
      });
  }
  for (const [id, want] of expected)
    if (!seen.has(id))
      problems.push({
        kind: 'row-missing',
        seq: want.seq,
        message: `prediction segment ${id}: sealed by entry ${want.seq} (${want.seal.rowCount} rows), but its index row is gone`,
      });
  return problems;
}
