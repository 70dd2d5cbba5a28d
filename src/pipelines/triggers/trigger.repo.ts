import type { Executor } from '../../store/index.js';
import type { TriggerFiringTable, TriggerTable } from '../../store/schema-triggers.js';

/** Inserts a trigger; false when a live trigger already has its name. */
export async function insertTrigger({ tx, row }: { tx: Executor; row: TriggerTable }): Promise<boolean> {
  // ON CONFLICT DO NOTHING, not catch-the-violation: in PostgreSQL a failed statement aborts the
  // caller's whole transaction (the audit entry is written in it next).
  const r = await tx
    .insertInto('triggers')
    .values(row)
    .onConflict((oc) => oc.column('live_name').doNothing())
    .returning('id')
    .executeTakeFirst();
  return r !== undefined;
}

export async function findLiveTrigger({ tx, ref }: { tx: Executor; ref: string }) {
  return tx
    .selectFrom('triggers')
    .selectAll()
    .where('deleted_at', 'is', null)
    .where((eb) => eb.or([eb('id', '=', ref), eb('live_name', '=', ref)]))
    .executeTakeFirst();
}

export async function findTriggerById({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('triggers').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Live triggers, oldest first; of one kind when given. */
export async function listLiveTriggers({ tx, kind }: { tx: Executor; kind?: string }) {
  let q = tx.selectFrom('triggers').selectAll().where('deleted_at', 'is', null);
  if (kind) q = q.where('kind', '=', kind);
  return q.orderBy('created_at').orderBy('id').execute();
}

export async function softDeleteTrigger({ tx, id, at }: { tx: Executor; id: string; at: number }) {
  const r = await tx
    .updateTable('triggers')
    .set({ deleted_at: at, live_name: null })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Moves a trigger's cursor forward to `to` (never back): true when this call moved it. Cursors compare
 * as text: slot times are zero-padded, version ids are ULIDs, so text order is time order.
 */
export async function advanceCursor({ tx, id, to }: { tx: Executor; id: string; to: string }) {
  const r = await tx
    .updateTable('triggers')
    .set({ cursor: to })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('cursor', 'is', null), eb('cursor', '<', to)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Inserts a firing; false when this trigger already fired for this key (the dedup). */
export async function insertFiring({ tx, row }: { tx: Executor; row: TriggerFiringTable }): Promise<boolean> {
  const r = await tx
    .insertInto('trigger_firings')
    .values(row)
    .onConflict((oc) => oc.columns(['trigger_id', 'key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return r !== undefined;
}

export async function findFiring({ tx, triggerId, key }: { tx: Executor; triggerId: string; key: string }) {
  return tx
    .selectFrom('trigger_firings')
    .selectAll()
    .where('trigger_id', '=', triggerId)
    .where('key', '=', key)
    .executeTakeFirst();
}

export async function findFiringById({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('trigger_firings').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Moves a firing from one status to another; false when it was not in `from` (another replica took
 * it first). The conditional update is what lets two replicas drain one queue.
 */
export async function moveFiring({
  tx,
  id,
  from,
  set,
}: {
  tx: Executor;
  id: string;
  from: string;
  set: Pick<TriggerFiringTable, 'status' | 'run_id' | 'error' | 'updated_at'>;
}) {
  const r = await tx
    .updateTable('trigger_firings')
    .set(set)
    .where('id', '=', id)
    .where('status', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Queued firings of live triggers, oldest first. */
export async function listQueued({ tx, limit }: { tx: Executor; limit: number }) {
  return tx
    .selectFrom('trigger_firings')
    .innerJoin('triggers', 'triggers.id', 'trigger_firings.trigger_id')
    .selectAll('trigger_firings')
    .where('trigger_firings.status', '=', 'queued')
    .where('triggers.deleted_at', 'is', null)
    .orderBy('trigger_firings.created_at')
    .orderBy('trigger_firings.id')
    .limit(limit)
    .execute();
}

/** True when the trigger has a firing waiting in its queue. */
export async function hasQueued({ tx, triggerId }: { tx: Executor; triggerId: string }) {
  const row = await tx
    .selectFrom('trigger_firings')
    .select('id')
    .where('trigger_id', '=', triggerId)
    .where('status', '=', 'queued')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** A trigger's firings, newest first. */
export async function listFirings({
  tx,
  triggerId,
  limit,
}: {
  tx: Executor;
  triggerId: string;
  limit: number;
}) {
  return tx
    .selectFrom('trigger_firings')
    .selectAll()
    .where('trigger_id', '=', triggerId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}
