import type { Executor } from '../store/index.js';
import type { AliasEventTable, ModelAliasTable } from '../store/schema-registry.js';

export async function findAlias({ tx, modelId, alias }: { tx: Executor; modelId: string; alias: string }) {
  return tx
    .selectFrom('model_aliases')
    .selectAll()
    .where('model_id', '=', modelId)
    .where('alias', '=', alias)
    .executeTakeFirst();
}

export async function listAliases({ tx, modelIds }: { tx: Executor; modelIds: string[] }) {
  if (modelIds.length === 0) return [];
  return tx
    .selectFrom('model_aliases')
    .selectAll()
    .where('model_id', 'in', modelIds)
    .orderBy('alias')
    .execute();
}

/**
 * Moves an alias only if it still points where the caller last saw it (null: nowhere). Returns false
 * when someone else moved it first; the caller answers 409.
 */
export async function compareAndSetAlias({
  tx,
  expected,
  row,
}: {
  tx: Executor;
  expected: number | null;
  row: ModelAliasTable;
}): Promise<boolean> {
  if (expected === null) {
    const r = await tx
      .insertInto('model_aliases')
      .values(row)
      .onConflict((oc) => oc.columns(['model_id', 'alias']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }
  const r = await tx
    .updateTable('model_aliases')
    .set({ version: row.version, updated_by: row.updated_by, updated_at: row.updated_at })
    .where('model_id', '=', row.model_id)
    .where('alias', '=', row.alias)
    .where('version', '=', expected)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function deleteAlias({
  tx,
  modelId,
  alias,
  expected,
}: {
  tx: Executor;
  modelId: string;
  alias: string;
  expected: number;
}): Promise<boolean> {
  const r = await tx
    .deleteFrom('model_aliases')
    .where('model_id', '=', modelId)
    .where('alias', '=', alias)
    .where('version', '=', expected)
    .executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}

export async function insertAliasEvent({ tx, row }: { tx: Executor; row: AliasEventTable }): Promise<void> {
  await tx.insertInto('alias_events').values(row).execute();
}

/** History of a model's aliases (or one alias), oldest first, optionally up to a time. */
export async function listAliasEvents({
  tx,
  modelId,
  alias,
  upTo,
}: {
  tx: Executor;
  modelId: string;
  alias?: string;
  upTo?: number;
}) {
  let q = tx.selectFrom('alias_events').selectAll().where('model_id', '=', modelId);
  if (alias !== undefined) q = q.where('alias', '=', alias);
  if (upTo !== undefined) q = q.where('at', '<=', upTo);
  return q.orderBy('at').orderBy('id').execute();
}

/** The newest move of an alias at or before a time (ids are time-sortable, so they break ties). */
export async function lastAliasEvent({
  tx,
  modelId,
  alias,
  upTo,
}: {
  tx: Executor;
  modelId: string;
  alias: string;
  upTo?: number;
}) {
  let q = tx
    .selectFrom('alias_events')
    .selectAll()
    .where('model_id', '=', modelId)
    .where('alias', '=', alias);
  if (upTo !== undefined) q = q.where('at', '<=', upTo);
  return q.orderBy('at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
}
