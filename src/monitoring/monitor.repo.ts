import type { Executor } from '../store/index.js';
import type { MonitorReferenceTable, MonitorTable } from '../store/schema-monitoring.js';

/* Monitors and their references: the only SQL of them. */

export async function insertMonitor({ tx, row }: { tx: Executor; row: MonitorTable }): Promise<void> {
  await tx.insertInto('monitors').values(row).execute();
}

/** A new version of a monitor's spec. */
export async function updateSpec({ tx, row }: { tx: Executor; row: MonitorTable }): Promise<void> {
  await tx
    .updateTable('monitors')
    .set({
      spec_yaml: row.spec_yaml,
      spec: row.spec,
      spec_digest: row.spec_digest,
      version: row.version,
      updated_at: row.updated_at,
    })
    .where('id', '=', row.id)
    .execute();
}

/** A monitor by id (deleted ones too: their runs and points stay readable). */
export async function findMonitor({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('monitors').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The live monitor of this name on a deployment. */
export async function findLiveByName({
  tx,
  deploymentId,
  name,
}: {
  tx: Executor;
  deploymentId: string;
  name: string;
}) {
  return tx
    .selectFrom('monitors')
    .selectAll()
    .where('deployment_id', '=', deploymentId)
    .where('name', '=', name)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** Live monitors, by deployment then name; one deployment's when given. */
export async function listLive({ tx, deploymentId }: { tx: Executor; deploymentId?: string | undefined }) {
  let q = tx.selectFrom('monitors').selectAll().where('deleted_at', 'is', null);
  if (deploymentId) q = q.where('deployment_id', '=', deploymentId);
  return q.orderBy('deployment_id').orderBy('name').execute();
}

export async function markDeleted({ tx, id, at }: { tx: Executor; id: string; at: number }): Promise<void> {
  await tx.updateTable('monitors').set({ deleted_at: at, updated_at: at }).where('id', '=', id).execute();
}

export async function findReference({
  tx,
  monitorId,
  monitorVersion,
  modelVersionId,
}: {
  tx: Executor;
  monitorId: string;
  monitorVersion: number;
  modelVersionId: string;
}) {
  return tx
    .selectFrom('monitor_references')
    .selectAll()
    .where('monitor_id', '=', monitorId)
    .where('monitor_version', '=', monitorVersion)
    .where('model_version_id', '=', modelVersionId)
    .executeTakeFirst();
}

export async function insertReference({
  tx,
  row,
}: {
  tx: Executor;
  row: MonitorReferenceTable;
}): Promise<void> {
  await tx.insertInto('monitor_references').values(row).execute();
}

/** A monitor's references (every version of it), oldest first. */
export async function listReferences({ tx, monitorId }: { tx: Executor; monitorId: string }) {
  return tx
    .selectFrom('monitor_references')
    .selectAll()
    .where('monitor_id', '=', monitorId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Stores the CBPE model fitted for a reference; the first one stored stays (replicas may race). */
export async function setReferenceCbpe({ tx, id, cbpe }: { tx: Executor; id: string; cbpe: string }) {
  await tx
    .updateTable('monitor_references')
    .set({ cbpe })
    .where('id', '=', id)
    .where('cbpe', 'is', null)
    .execute();
}
