import type { Executor } from '../store/index.js';
import type { DeploymentRuntimeTable } from '../store/schema-serving.js';

/** Records a serving process's start, or its next beat when the row exists. */
export async function beat({ tx, row }: { tx: Executor; row: DeploymentRuntimeTable }): Promise<void> {
  const updated = await tx
    .updateTable('deployment_runtimes')
    .set({ beat_at: row.beat_at, address: row.address })
    .where('id', '=', row.id)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) await tx.insertInto('deployment_runtimes').values(row).execute();
}

/** Marks a serving process as stopped cleanly. */
export async function markStopped({ tx, id, at }: { tx: Executor; id: string; at: number }): Promise<void> {
  await tx
    .updateTable('deployment_runtimes')
    .set({ stopped_at: at, beat_at: at })
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
}): Promise<Map<string, DeploymentRuntimeTable>> {
  const latest = new Map<string, DeploymentRuntimeTable>();
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
