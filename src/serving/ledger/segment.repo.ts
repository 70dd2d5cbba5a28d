import type { Executor } from '../../store/index.js';
import type { PredictionSegmentTable } from '../../store/schema-serving.js';

/*
 * Queries of the segment index of the prediction log (migration 028): one row per segment, written when
 * a segment opens and when it is sealed, never per prediction.
 */

/** open: a local file; sealed: a Parquet blob; pruned: dropped by `predictions prune` (row kept, audited). */
export type SegmentState = 'open' | 'sealed' | 'pruned';
export type SegmentRow = PredictionSegmentTable;

/** Registers a new open segment. */
export async function insertOpenSegment({
  tx,
  id,
  deploymentId,
  path,
  host,
  createdAt,
}: {
  tx: Executor;
  id: string;
  deploymentId: string;
  path: string;
  host: string;
  createdAt: number;
}): Promise<void> {
  await tx
    .insertInto('prediction_segments')
    .values({
      id,
      deployment_id: deploymentId,
      model_version_ids: '[]',
      state: 'open' satisfies SegmentState,
      path,
      host,
      row_count: 0,
      first_at: null,
      last_at: null,
      min_id: null,
      max_id: null,
      blob_key: null,
      bytes: null,
      created_at: createdAt,
      sealed_at: null,
    })
    .execute();
}

/** What a sealed segment holds, as its index row records it. */
export interface SealedSummary {
  rowCount: number;
  modelVersionIds: string[];
  firstAt: number | null;
  lastAt: number | null;
  minId: string | null;
  maxId: string | null;
  /** null for a segment that held no row (no blob). */
  blobKey: string | null;
  bytes: number | null;
}

/** Marks an open segment sealed (false when it was no longer open: another process sealed it). */
export async function markSegmentSealed({
  tx,
  id,
  summary,
  sealedAt,
}: {
  tx: Executor;
  id: string;
  summary: SealedSummary;
  sealedAt: number;
}): Promise<boolean> {
  const r = await tx
    .updateTable('prediction_segments')
    .set({
      state: 'sealed' satisfies SegmentState,
      path: null,
      row_count: summary.rowCount,
      model_version_ids: JSON.stringify(summary.modelVersionIds),
      first_at: summary.firstAt,
      last_at: summary.lastAt,
      min_id: summary.minId,
      max_id: summary.maxId,
      blob_key: summary.blobKey,
      bytes: summary.bytes,
      sealed_at: sealedAt,
    })
    .where('id', '=', id)
    .where('state', '=', 'open')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** The open segments of a host's processes (for a deployment, or all), oldest first. */
export async function listOpenSegments({
  tx,
  host,
  deploymentId,
}: {
  tx: Executor;
  host: string;
  deploymentId?: string | undefined;
}): Promise<SegmentRow[]> {
  let q = tx.selectFrom('prediction_segments').selectAll().where('state', '=', 'open');
  if (deploymentId !== undefined) q = q.where('deployment_id', '=', deploymentId);
  // `host` holds `<host>/<pid>` (few open segments exist: one per deployment and process).
  const rows = await q.orderBy('created_at').orderBy('id').execute();
  return rows.filter((r) => r.host.slice(0, r.host.lastIndexOf('/')) === host);
}

/**
 * The segments that may hold predictions served in [since, until) by the deployments (all when
 * undefined): sealed ones whose time range overlaps, and every open one (their range is known only
 * to their file). Oldest first.
 */
export async function listSegmentsOverlapping({
  tx,
  deploymentIds,
  since,
  until,
}: {
  tx: Executor;
  deploymentIds?: string[] | undefined;
  since?: number | undefined;
  until?: number | undefined;
}): Promise<SegmentRow[]> {
  let q = tx.selectFrom('prediction_segments').selectAll();
  if (deploymentIds !== undefined) {
    if (deploymentIds.length === 0) return [];
    q = q.where('deployment_id', 'in', deploymentIds);
  }
  q = q.where((eb) => {
    const sealed = [eb('state', '=', 'sealed'), eb('row_count', '>', 0)];
    if (since !== undefined) sealed.push(eb('last_at', '>=', since));
    if (until !== undefined) sealed.push(eb('first_at', '<', until));
    return eb.or([eb('state', '=', 'open'), eb.and(sealed)]);
  });
  return q.orderBy('created_at').orderBy('id').execute();
}

/**
 * The segments that may hold a prediction id in [minId, maxId]: the open ones, and sealed ones whose
 * id range meets it (minId = maxId for one id).
 */
export async function listSegmentsForIdRange({
  tx,
  minId,
  maxId,
}: {
  tx: Executor;
  minId: string;
  maxId: string;
}): Promise<SegmentRow[]> {
  return tx
    .selectFrom('prediction_segments')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('state', '=', 'open'),
        eb.and([eb('state', '=', 'sealed'), eb('min_id', '<=', maxId), eb('max_id', '>=', minId)]),
      ]),
    )
    .orderBy('created_at', 'desc')
    .execute();
}

/** The index rows of these segments (e.g. open ones re-read after their file was sealed away). */
export async function getSegments({ tx, ids }: { tx: Executor; ids: string[] }): Promise<SegmentRow[]> {
  if (ids.length === 0) return [];
  return tx.selectFrom('prediction_segments').selectAll().where('id', 'in', ids).execute();
}

/** Sealed segments whose every prediction was served before `before`. */
export async function listSealedBefore({
  tx,
  before,
}: {
  tx: Executor;
  before: number;
}): Promise<SegmentRow[]> {
  return tx
    .selectFrom('prediction_segments')
    .selectAll()
    .where('state', '=', 'sealed')
    .where((eb) => eb.or([eb('last_at', '<', before), eb('row_count', '=', 0)]))
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Marks sealed segments pruned; returns the ids it changed (another prune may have taken some). */
export async function markSegmentsPruned({ tx, ids }: { tx: Executor; ids: string[] }): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await tx
      .updateTable('prediction_segments')
      .set({ state: 'pruned' satisfies SegmentState })
      .where('id', 'in', ids.slice(i, i + 500))
      .where('state', '=', 'sealed')
      .returning('id')
      .execute();
    for (const r of rows) out.add(r.id);
  }
  return out;
}

/** Whether a segment that is not pruned still names the blob. */
export async function blobInUse({ tx, blobKey }: { tx: Executor; blobKey: string }): Promise<boolean> {
  const row = await tx
    .selectFrom('prediction_segments')
    .select('id')
    .where('blob_key', '=', blobKey)
    .where('state', '!=', 'pruned')
    .executeTakeFirst();
  return row !== undefined;
}
