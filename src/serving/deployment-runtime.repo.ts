import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../store/index.js';
import type { DeploymentRuntimeTable } from '../store/schema-serving.js';

/** A heartbeat row as read. */
export type RuntimeRow = Selectable<DeploymentRuntimeTable>;
/** The request-count columns of a heartbeat row. */
export type RuntimeCountColumns = Pick<RuntimeRow, 'requests_ok' | 'requests_failed' | 'errors_by_code'>;

/** Records a serving process's start, or its next beat when the row exists. */
export async function beat({
  tx,
  row,
}: {
  tx: Executor;
  row: Insertable<DeploymentRuntimeTable> & RuntimeCountColumns;
}): Promise<void> {
  const updated = await tx
    .updateTable('deployment_runtimes')
    .set({
      beat_at: row.beat_at,
      address: row.address,
      requests_ok: row.requests_ok,
      requests_failed: row.requests_failed,
      errors_by_code: row.errors_by_code,
    })
    .where('id', '=', row.id)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) await tx.insertInto('deployment_runtimes').values(row).execute();
}

/** Marks a serving process as stopped cleanly, with its final request counts when given. */
export async function markStopped({
  tx,
  id,
  at,
  counts,
}: {
  tx: Executor;
  id: string;
  at: number;
  counts?: RuntimeCountColumns;
}): Promise<void> {
  await tx
    .updateTable('deployment_runtimes')
    .set({ stopped_at: at, beat_at: at, ...counts })
    .where('id', '=', id)
    .execute();
}

/** The most recently beating runtime of each of these deployments. */
export async function latestFor({
  tx,
  deploymentIds,
}: {
  tx: Executor;
  deploymentIds: string[];
}): Promise<Map<string, RuntimeRow>> {
  const latest = new Map<string, RuntimeRow>();
  if (deploymentIds.length === 0) return latest;
  const rows = await tx
    .selectFrom('deployment_runtimes')
    .selectAll()
    .where('deployment_id', 'in', deploymentIds)
    .orderBy('beat_at', 'asc')
    .execute();
  for (const r of rows) latest.set(r.deployment_id, r);
  return latest;
}

/** Every heartbeat row of a deployment: one per process start, with its request counts. */
export async function allFor({
  tx,
  deploymentId,
}: {
  tx: Executor;
  deploymentId: string;
}): Promise<(RuntimeCountColumns & Pick<RuntimeRow, 'started_at'>)[]> {
  return tx
    .selectFrom('deployment_runtimes')
    .select(['started_at', 'requests_ok', 'requests_failed', 'errors_by_code'])
    .where('deployment_id', '=', deploymentId)
    .execute();
}
