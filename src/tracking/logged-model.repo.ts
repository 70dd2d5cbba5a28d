import type {
  Executor,
  LoggedModelArtifactTable,
  LoggedModelMetricTable,
  LoggedModelTable,
  RunModelLinkTable,
} from '../store/index.js';

export async function insertLoggedModel({ tx, row }: { tx: Executor; row: LoggedModelTable }): Promise<void> {
  await tx.insertInto('logged_models').values(row).execute();
}

export async function findLoggedModel({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('logged_models').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Logged models of the experiments, newest first, active ones only unless asked otherwise. */
export async function listLoggedModels({
  tx,
  experimentIds,
  limit,
}: {
  tx: Executor;
  experimentIds: string[];
  limit: number;
}) {
  if (experimentIds.length === 0) return [];
  return tx
    .selectFrom('logged_models')
    .selectAll()
    .where('experiment_id', 'in', experimentIds)
    .where('lifecycle_stage', '=', 'active')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

export async function updateLoggedModel({
  tx,
  id,
  set,
}: {
  tx: Executor;
  id: string;
  set: Partial<Omit<LoggedModelTable, 'id'>>;
}): Promise<void> {
  await tx.updateTable('logged_models').set(set).where('id', '=', id).execute();
}

type KeyValueTable = 'logged_model_params' | 'logged_model_tags';

export async function listKeyValues({
  tx,
  table,
  ids,
}: {
  tx: Executor;
  table: KeyValueTable;
  ids: string[];
}) {
  if (ids.length === 0) return [];
  return tx.selectFrom(table).selectAll().where('model_id', 'in', ids).orderBy('key').execute();
}

/** Writes the pairs, replacing the value of a key already there. */
export async function upsertKeyValues({
  tx,
  table,
  modelId,
  pairs,
}: {
  tx: Executor;
  table: KeyValueTable;
  modelId: string;
  pairs: { key: string; value: string }[];
}): Promise<void> {
  for (const p of pairs) {
    await tx
      .insertInto(table)
      .values({ model_id: modelId, key: p.key, value: p.value })
      .onConflict((oc) => oc.columns(['model_id', 'key']).doUpdateSet({ value: p.value }))
      .execute();
  }
}

export async function deleteKeyValue({
  tx,
  table,
  modelId,
  key,
}: {
  tx: Executor;
  table: KeyValueTable;
  modelId: string;
  key: string;
}): Promise<boolean> {
  const r = await tx
    .deleteFrom(table)
    .where('model_id', '=', modelId)
    .where('key', '=', key)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Records the links; a link already there keeps its first step (logging an output twice is a no-op). */
export async function insertRunModelLinks({ tx, rows }: { tx: Executor; rows: RunModelLinkTable[] }) {
  for (const row of rows) {
    await tx
      .insertInto('run_model_links')
      .values(row)
      .onConflict((oc) => oc.columns(['run_id', 'model_id', 'direction']).doNothing())
      .execute();
  }
}

export async function listRunModelLinks({
  tx,
  runId,
  modelId,
}: {
  tx: Executor;
  runId?: string | undefined;
  modelId?: string | undefined;
}) {
  let q = tx.selectFrom('run_model_links').selectAll();
  if (runId) q = q.where('run_id', '=', runId);
  if (modelId) q = q.where('model_id', '=', modelId);
  return q.orderBy('created_at').orderBy('model_id').execute();
}

/** Records model-linked metric values; the same value (model, key, time, step, run, dataset) twice is kept once. */
export async function insertModelMetrics({ tx, rows }: { tx: Executor; rows: LoggedModelMetricTable[] }) {
  for (const row of rows) {
    await tx
      .insertInto('logged_model_metrics')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['model_id', 'key', 'timestamp', 'step', 'run_id', 'dataset_name', 'dataset_digest'])
          .doUpdateSet({ value: row.value, is_nan: row.is_nan }),
      )
      .execute();
  }
}

/** Every metric value of the models, oldest first. */
export async function listModelMetrics({ tx, ids }: { tx: Executor; ids: string[] }) {
  if (ids.length === 0) return [];
  return tx
    .selectFrom('logged_model_metrics')
    .selectAll()
    .where('model_id', 'in', ids)
    .orderBy('key')
    .orderBy('timestamp')
    .orderBy('step')
    .execute();
}

export async function upsertModelArtifact({ tx, row }: { tx: Executor; row: LoggedModelArtifactTable }) {
  const before = await findModelArtifact({ tx, modelId: row.model_id, path: row.path });
  await tx
    .insertInto('logged_model_artifacts')
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(['model_id', 'path'])
        .doUpdateSet({ sha256: row.sha256, size: row.size, created_at: row.created_at }),
    )
    .execute();
  return before;
}

export async function findModelArtifact({
  tx,
  modelId,
  path,
}: {
  tx: Executor;
  modelId: string;
  path: string;
}) {
  return tx
    .selectFrom('logged_model_artifacts')
    .selectAll()
    .where('model_id', '=', modelId)
    .where('path', '=', path)
    .executeTakeFirst();
}

/** The model's files whose path starts with a folder prefix ('' for all), in path order. */
export async function listModelArtifactsUnder({
  tx,
  modelId,
  prefix,
}: {
  tx: Executor;
  modelId: string;
  prefix: string;
}) {
  let q = tx.selectFrom('logged_model_artifacts').selectAll().where('model_id', '=', modelId);
  // substr equality instead of LIKE: paths may contain % and _.
  if (prefix)
    q = q.where((eb) => eb(eb.fn('substr', ['path', eb.val(1), eb.val(prefix.length)]), '=', prefix));
  return q.orderBy('path').execute();
}

export async function deleteModelArtifact({
  tx,
  modelId,
  path,
}: {
  tx: Executor;
  modelId: string;
  path: string;
}) {
  await tx
    .deleteFrom('logged_model_artifacts')
    .where('model_id', '=', modelId)
    .where('path', '=', path)
    .execute();
}
