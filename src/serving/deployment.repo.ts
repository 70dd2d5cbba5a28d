import type { Executor } from '../store/index.js';
import type { DeploymentTable } from '../store/schema-serving.js';

export async function insertDeployment({ tx, row }: { tx: Executor; row: DeploymentTable }): Promise<void> {
  await tx.insertInto('deployments').values(row).execute();
}

/** The live deployment holding a name. */
export async function findLiveByName({ tx, name }: { tx: Executor; name: string }) {
  return tx
    .selectFrom('deployments')
    .selectAll()
    .where('name', '=', name)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** A deployment by id, deleted or not. */
export async function findById({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Live deployments by name. */
export async function listLive({ tx }: { tx: Executor }) {
  return tx.selectFrom('deployments').selectAll().where('deleted_at', 'is', null).orderBy('name').execute();
}

export async function updateDeployment({
  tx,
  id,
  set,
}: {
  tx: Executor;
  id: string;
  set: Partial<Omit<DeploymentTable, 'id'>>;
}): Promise<void> {
  await tx.updateTable('deployments').set(set).where('id', '=', id).execute();
}
