import type { Executor, RunTable } from '../store/index.js';

export async function insertRun({ tx, values }: { tx: Executor; values: RunTable }): Promise<void> {
  await tx.insertInto('runs').values(values).execute();
}

export async function findRun({ tx, id }: { tx: Executor; id: string }): Promise<RunTable | undefined> {
  return tx.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findRuns({ tx, ids }: { tx: Executor; ids: string[] }): Promise<RunTable[]> {
  if (ids.length === 0) return [];
  return tx.selectFrom('runs').selectAll().where('id', 'in', ids).execute();
}

export async function updateRun({
  tx,
  id,
  set,
}: {
  tx: Executor;
  id: string;
  set: Partial<Omit<RunTable, 'id'>>;
}): Promise<void> {
  await tx.updateTable('runs').set(set).where('id', '=', id).execute();
}

/** Marks every active run of an experiment deleted (MLflow deletes an experiment's runs with it). */
export async function setLifecycleOfExperimentRuns({
  tx,
  experimentId,
  from,
  to,
  at,
}: {
  tx: Executor;
  experimentId: number;
  from: string;
  to: string;
  at: number;
}): Promise<number> {
  const r = await tx
    .updateTable('runs')
    .set({ lifecycle_stage: to, deleted_at: to === 'deleted' ? at : null, updated_at: at })
    .where('experiment_id', '=', experimentId)
    .where('lifecycle_stage', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
