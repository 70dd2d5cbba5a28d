import type { Executor } from '../store/index.js';
import type { DeploymentTable } from '../store/schema-serving.js';

/** A unique-index violation on either backend (what a lost race for a name looks like). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    /UNIQUE constraint failed/.test(String(e?.message))
  );
}

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
