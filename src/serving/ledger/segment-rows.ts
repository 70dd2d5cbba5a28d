import type { Executor } from '../../store/index.js';
import {
  deploymentIdsNamed,
  findLabelRows,
  type PredictionFilter,
  type PredictionWithLabelRow,
} from './prediction.repo.js';
import type { SegmentReader, SegmentRowQuery } from './segment-reader.js';

/*
 * The rows of the segment log under the same filter, order and keyset cursor as the `predictions`
 * table's, with their labels joined by id: the read side merges both, so rows logged before the
 * segment log (the table) and after it (segments) read as one log. Every read is a page (or a count):
 * memory holds a page, never the window.
 */

/** The reader's query for a filter; undefined when no deployment can match (a name no deployment had). */
async function queryOf(tx: Executor, f: PredictionFilter): Promise<SegmentRowQuery | undefined> {
  let deploymentIds: string[] | undefined;
  if (f.deploymentId !== undefined) deploymentIds = [f.deploymentId];
  if (f.deploymentName !== undefined) {
    const named = await deploymentIdsNamed({ tx, name: f.deploymentName });
    deploymentIds = deploymentIds ? deploymentIds.filter((d) => named.includes(d)) : named;
  }
  if (deploymentIds?.length === 0) return undefined;
  return {
    deploymentIds,
    since: f.since,
    until: f.until,
    modelVersionId: f.modelVersionId,
    model: f.model,
    version: f.version,
    failed: f.failedOnly === true ? 'only' : f.includeFailed === true ? undefined : 'exclude',
  };
}

/** The first `limit` rows of the segments past the cursor in `order`, matching the filter (labels joined). */
export async function segmentPage({
  tx,
  segments,
  filter,
  labelledOnly = false,
  after,
  order,
  limit,
}: {
  tx: Executor;
  segments: SegmentReader;
  filter: PredictionFilter;
  labelledOnly?: boolean;
  /** Keyset cursor: rows strictly past it in `order`. */
  after?: { servedAt: number; id: string } | undefined;
  order: 'newest' | 'oldest';
  limit: number;
}): Promise<PredictionWithLabelRow[]> {
  const q = await queryOf(tx, filter);
  if (!q) return [];
  const out: PredictionWithLabelRow[] = [];
  let cursor = after;
  // Only labelled rows: read pages until enough of them have a label (or the log ends).
  while (out.length < limit) {
    const raw = await segments.page({ ...q, order, after: cursor, limit });
    const labels = await findLabelRows({ tx, ids: raw.map((r) => r.id) });
    for (const r of raw) {
      const l = labels.get(r.id);
      if (labelledOnly && !l) continue;
      if (out.length < limit)
        out.push({ ...r, label: l?.label ?? null, label_received_at: l?.received_at ?? null });
    }
    const last = raw[raw.length - 1];
    if (raw.length < limit || !last) break;
    cursor = { servedAt: Number(last.served_at), id: last.id };
  }
  return out;
}

/** How many rows of the segments match the filter (only labelled ones: counted a page at a time). */
export async function countSegmentRows({
  tx,
  segments,
  filter,
  labelledOnly = false,
}: {
  tx: Executor;
  segments: SegmentReader;
  filter: PredictionFilter;
  labelledOnly?: boolean;
}): Promise<number> {
  if (!labelledOnly) {
    const q = await queryOf(tx, filter);
    return q ? segments.count(q) : 0;
  }
  let n = 0;
  let after: { servedAt: number; id: string } | undefined;
  const limit = 10_000;
  for (;;) {
    // Pages with labels joined; a short page is the last one.
    const raw = await segmentPage({ tx, segments, filter, after, order: 'oldest', limit });
    for (const r of raw) if (r.label !== null) n++;
    const last = raw[raw.length - 1];
    if (raw.length < limit || !last) return n;
    after = { servedAt: Number(last.served_at), id: last.id };
  }
}
