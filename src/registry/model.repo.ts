import type { Executor } from '../store/index.js';
import type { ModelVersionTable, RegisteredModelTable } from '../store/schema-registry.js';

export async function insertModel({ tx, row }: { tx: Executor; row: RegisteredModelTable }): Promise<void> {
  await tx.insertInto('registered_models').values(row).execute();
}

export async function findModelByKey({ tx, key }: { tx: Executor; key: string }) {
  return tx.selectFrom('registered_models').selectAll().where('name_key', '=', key).executeTakeFirst();
}

export async function findModelById({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('registered_models').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Id and name of every live model (look-alike checks compare a new name with all of them). */
export async function listLiveModelNames({ tx }: { tx: Executor }) {
  return tx.selectFrom('registered_models').select(['id', 'name']).where('deleted_at', 'is', null).execute();
}

/** Live models, by name, paged by offset; `nameLike` is a SQL LIKE pattern on the normalised key. */
export async function listModels({
  tx,
  nameLike,
  offset,
  limit,
}: {
  tx: Executor;
  nameLike?: string;
  offset: number;
  limit: number;
}) {
  let q = tx.selectFrom('registered_models').selectAll().where('deleted_at', 'is', null);
  if (nameLike !== undefined) q = q.where('name_key', 'like', nameLike);
  return q.orderBy('name_key').orderBy('id').offset(offset).limit(limit).execute();
}

export async function updateModel({
  tx,
  id,
  set,
}: {
  tx: Executor;
  id: string;
  set: Partial<Omit<RegisteredModelTable, 'id'>>;
}): Promise<void> {
  await tx.updateTable('registered_models').set(set).where('id', '=', id).execute();
}

/**
 * Hands out the next version number. The UPDATE takes the model row's lock (PostgreSQL) inside a
 * transaction that already holds SQLite's write lock, so concurrent registrations get 1, 2, 3 ...
 * with no gaps and no duplicates.
 */
export async function nextVersionNumber({ tx, modelId, at }: { tx: Executor; modelId: string; at: number }) {
  const row = await tx
    .updateTable('registered_models')
    .set((eb) => ({ last_version: eb('last_version', '+', 1), updated_at: at }))
    .where('id', '=', modelId)
    .returning('last_version')
    .executeTakeFirstOrThrow();
  return Number(row.last_version);
}

/** Takes the model row's lock for the rest of the transaction (PostgreSQL; SQLite already holds the write lock). */
export async function lockModel({ tx, modelId }: { tx: Executor; modelId: string }): Promise<void> {
  await tx
    .updateTable('registered_models')
    .set((eb) => ({ last_version: eb.ref('last_version') }))
    .where('id', '=', modelId)
    .execute();
}

export async function insertVersion({ tx, row }: { tx: Executor; row: ModelVersionTable }): Promise<void> {
  await tx.insertInto('model_versions').values(row).execute();
}

export async function findVersion({
  tx,
  modelId,
  version,
}: {
  tx: Executor;
  modelId: string;
  version: number;
}) {
  return tx
    .selectFrom('model_versions')
    .selectAll()
    .where('model_id', '=', modelId)
    .where('version', '=', version)
    .executeTakeFirst();
}

export async function findLatestVersion({ tx, modelId }: { tx: Executor; modelId: string }) {
  return tx
    .selectFrom('model_versions')
    .selectAll()
    .where('model_id', '=', modelId)
    .where('deleted_at', 'is', null)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Live latest version number per model, for many models at once. */
export async function latestVersionNumbers({ tx, modelIds }: { tx: Executor; modelIds: string[] }) {
  if (modelIds.length === 0) return new Map<string, number>();
  const rows = await tx
    .selectFrom('model_versions')
    .select((eb) => ['model_id', eb.fn.max('version').as('v')])
    .where('model_id', 'in', modelIds)
    .where('deleted_at', 'is', null)
    .groupBy('model_id')
    .execute();
  return new Map(rows.map((r) => [r.model_id, Number(r.v)]));
}

export async function listVersions({
  tx,
  modelId,
  runId,
  source,
  offset,
  limit,
}: {
  tx: Executor;
  modelId?: string;
  runId?: string;
  source?: string;
  offset: number;
  limit: number;
}) {
  let q = tx.selectFrom('model_versions').selectAll().where('deleted_at', 'is', null);
  if (modelId !== undefined) q = q.where('model_id', '=', modelId);
  if (runId !== undefined) q = q.where('run_id', '=', runId);
  if (source !== undefined) q = q.where('source', '=', source);
  return q.orderBy('model_id').orderBy('version', 'desc').offset(offset).limit(limit).execute();
}

export async function updateVersion({
  tx,
  id,
  set,
}: {
  tx: Executor;
  id: string;
  set: Partial<Omit<ModelVersionTable, 'id'>>;
}): Promise<void> {
  await tx.updateTable('model_versions').set(set).where('id', '=', id).execute();
}
