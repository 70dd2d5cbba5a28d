import type { Executor } from '../store/index.js';
import type {
  PromotionDecisionTable,
  PromotionRequestTable,
  RegistryPolicyTable,
} from '../store/schema-registry.js';

export async function insertRequest({
  tx,
  row,
}: {
  tx: Executor;
  row: PromotionRequestTable;
}): Promise<void> {
  await tx.insertInto('promotion_requests').values(row).execute();
}

export async function findRequest({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('promotion_requests').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findOpenRequest({ tx, openKey }: { tx: Executor; openKey: string }) {
  return tx.selectFrom('promotion_requests').selectAll().where('open_key', '=', openKey).executeTakeFirst();
}

export async function listRequests({
  tx,
  modelId,
  status,
  limit,
}: {
  tx: Executor;
  modelId?: string;
  status?: string;
  limit: number;
}) {
  let q = tx.selectFrom('promotion_requests').selectAll();
  if (modelId !== undefined) q = q.where('model_id', '=', modelId);
  if (status !== undefined) q = q.where('status', '=', status);
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** Moves a request on only from the state the caller read (false: someone else moved it first). */
export async function transitionRequest({
  tx,
  id,
  from,
  set,
}: {
  tx: Executor;
  id: string;
  from: string;
  set: Partial<Omit<PromotionRequestTable, 'id'>>;
}): Promise<boolean> {
  const r = await tx
    .updateTable('promotion_requests')
    .set(set)
    .where('id', '=', id)
    .where('status', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function insertDecision({
  tx,
  row,
}: {
  tx: Executor;
  row: PromotionDecisionTable;
}): Promise<void> {
  await tx.insertInto('promotion_decisions').values(row).execute();
}

export async function listDecisions({ tx, requestIds }: { tx: Executor; requestIds: string[] }) {
  if (requestIds.length === 0) return [];
  return tx
    .selectFrom('promotion_decisions')
    .selectAll()
    .where('request_id', 'in', requestIds)
    .orderBy('at')
    .orderBy('id')
    .execute();
}

export async function findPolicy({ tx, scope }: { tx: Executor; scope: string }) {
  return tx.selectFrom('registry_policies').selectAll().where('scope', '=', scope).executeTakeFirst();
}

export async function upsertPolicy({ tx, row }: { tx: Executor; row: RegistryPolicyTable }): Promise<void> {
  await tx
    .insertInto('registry_policies')
    .values(row)
    .onConflict((oc) =>
      oc
        .column('scope')
        .doUpdateSet({ yaml: row.yaml, updated_by: row.updated_by, updated_at: row.updated_at }),
    )
    .execute();
}

/**
 * Takes the request's row lock before anything else in a decision's transaction, and says whether it
 * is still pending. Locking first keeps concurrent deciders in one order (row, then audit chain):
 * the second waits here, then finds the request decided.
 */
export async function lockPendingRequest({ tx, id }: { tx: Executor; id: string }): Promise<boolean> {
  const r = await tx
    .updateTable('promotion_requests')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
