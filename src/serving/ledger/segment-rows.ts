import type { Executor } from '../../store/index.js';
import {
  deploymentIdsNamed,
  findLabelRows,
  type PredictionFilter,
  type PredictionWithLabelRow,
} from './prediction.repo.js';
import type { SegmentReader } from './segment-reader.js';

/*
 * The rows of the segment log under the same filter, order and keyset cursor as the `predictions`
 * table's, with their labels joined by id: the read side merges both, so rows logged before the
 * segment log (the table) and after it (segments) read as one log.
 */

type Key = { served_at: number; id: string };

/** Compares two rows by (served_at, id). */
export function compareKeys(a: Key, b: Key): number {
  // PostgreSQL hands bigint columns back as strings.
  const d = Number(a.served_at) - Number(b.served_at);
  return d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Rows of the segments matching the filter (labels joined), oldest first. */
export async function segmentRowsMatching({
  tx,
  segments,
  filter: f,
  labelledOnly = false,
  after,
  order = 'oldest',
}: {
  tx: Executor;
  segments: SegmentReader;
  filter: PredictionFilter;
  labelledOnly?: boolean;
  /** Keyset cursor: rows strictly past it in `order`. */
  after?: { servedAt: number; id: string } | undefined;
  order?: 'newest' | 'oldest';
}): Promise<PredictionWithLabelRow[]> {
  let deploymentIds: string[] | undefined;
  if (f.deploymentId !== undefined) deploymentIds = [f.deploymentId];
  if (f.deploymentName !== undefined) {
    const named = await deploymentIdsNamed({ tx, name: f.deploymentName });
    deploymentIds = deploymentIds ? deploymentIds.filter((d) => named.includes(d)) : named;
  }
  const raw = await segments.rows({
    deploymentIds,
    since: f.since,
    until: f.until,
    modelVersionId: f.modelVersionId,
  });
  const cursor = after ? { served_at: after.servedAt, id: after.id } : undefined;
  const kept = raw.filter((r) => {
    if (f.model !== undefined && r.model !== f.model) return false;
    if (f.version !== undefined && Number(r.version) !== f.version) return false;
    if (f.failedOnly === true) {
      if (r.error === null) return false;
    } else if (f.includeFailed !== true && r.error !== null) return false;
    if (cursor) {
      const c = compareKeys(r, cursor);
      if (order === 'oldest' ? c <= 0 : c >= 0) return false;
    }
    return true;
  });
  const labels = await findLabelRows({ tx, ids: kept.map((r) => r.id) });
  const out: PredictionWithLabelRow[] = [];
  for (const r of kept) {
    const l = labels.get(r.id);
    if (labelledOnly && !l) continue;
    out.push({ ...r, label: l?.label ?? null, label_received_at: l?.received_at ?? null });
  }
  out.sort(compareKeys);
  if (order === 'newest') out.reverse();
  return out;
}

/** Merges two lists sorted in the same order into the first `limit` rows. */
export function mergeSorted<T extends Key>(a: T[], b: T[], order: 'newest' | 'oldest', limit: number): T[] {
  const sign = order === 'oldest' ? 1 : -1;
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < a.length || j < b.length)) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && sign * compareKeys(x, y) <= 0)) {
      out.push(x as T);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  return out;
}
