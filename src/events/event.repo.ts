import type { Selectable } from 'kysely';
import type { Executor } from '../store/index.js';
import type { EventDeliveryTable, EventTable } from '../store/schema-events.js';
import { leasePendingDeliveries } from './delivery-lease.repo.js';

export type EventRow = Selectable<EventTable>;
export type EventDeliveryRow = Selectable<EventDeliveryTable>;

/** A claimed delivery with the event it carries. */
export interface ClaimedEventDelivery extends EventDeliveryRow {
  type: string;
  key: string | null;
  actor: string | null;
  payload: string;
  event_created_at: number;
}

/** Writes an event unless one of the same (type, key) exists; true when this call wrote it. */
export async function insertEvent({ tx, row }: { tx: Executor; row: EventTable }): Promise<boolean> {
  // ON CONFLICT DO NOTHING, not catch-the-violation: in PostgreSQL a failed statement aborts the
  // caller's whole transaction, and the caller is in the middle of its own change.
  const r = await tx
    .insertInto('events')
    .values(row)
    .onConflict((oc) => oc.columns(['type', 'key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return r !== undefined;
}

export async function findEventByKey({ tx, type, key }: { tx: Executor; type: string; key: string }) {
  return tx
    .selectFrom('events')
    .selectAll()
    .where('type', '=', type)
    .where('key', '=', key)
    .executeTakeFirst();
}

export async function insertDeliveries({ tx, rows }: { tx: Executor; rows: EventDeliveryTable[] }) {
  if (rows.length) await tx.insertInto('event_deliveries').values(rows).execute();
}

/**
 * Takes up to `limit` due deliveries of the given subscribers for `owner` (leasePendingDeliveries),
 * then reads back what it got. Subscribers this process does not know (another version of the code)
 * are left to the processes that do.
 */
export async function claimDue({
  tx,
  owner,
  now,
  leaseUntil,
  limit,
  subscribers,
  ids,
}: {
  tx: Executor;
  owner: string;
  now: number;
  leaseUntil: number;
  limit: number;
  subscribers: readonly string[];
  /** Only these deliveries, whatever their due time. */
  ids?: readonly string[];
}): Promise<ClaimedEventDelivery[]> {
  if (!subscribers.length || limit < 1) return [];
  await leasePendingDeliveries(tx, 'event_deliveries', {
    owner,
    now,
    leaseUntil,
    limit,
    ids,
    narrow: (q) => q.where('subscriber', 'in', subscribers),
  });
  return (
    tx
      .selectFrom('event_deliveries as d')
      .innerJoin('events as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select([
        'e.type as type',
        'e.key as key',
        'e.actor as actor',
        'e.payload as payload',
        'e.created_at as event_created_at',
      ])
      .where('d.lease_owner', '=', owner)
      .where('d.state', '=', 'pending')
      // Oldest events first, so one subscriber sees one entity's events in the order they happened.
      .orderBy('d.event_id')
      .execute()
  );
}

/**
 * Marks a delivery done, but only while `owner` holds it. Run inside the handler's transaction this
 * also locks the row, so the handler's effects and the mark commit together or not at all.
 */
export async function markDone({
  tx,
  id,
  owner,
  attempts,
  at,
}: {
  tx: Executor;
  id: string;
  owner: string;
  attempts: number;
  at: number;
}): Promise<boolean> {
  const r = await tx
    .updateTable('event_deliveries')
    .set({ state: 'done', attempts, finished_at: at, last_error: null, lease_owner: null, lease_until: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Records a failed attempt (retry later, or failed for good), only while `owner` holds the delivery. */
export async function recordFailure({
  tx,
  id,
  owner,
  set,
}: {
  tx: Executor;
  id: string;
  owner: string;
  set: Pick<EventDeliveryTable, 'state' | 'attempts' | 'next_attempt_at' | 'last_error' | 'finished_at'>;
}): Promise<boolean> {
  const r = await tx
    .updateTable('event_deliveries')
    .set({ ...set, lease_owner: null, lease_until: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** State and attempt count of some deliveries (those not found are not returned). */
export async function deliveryProgress({ tx, ids }: { tx: Executor; ids: readonly string[] }) {
  if (!ids.length) return [];
  return tx
    .selectFrom('event_deliveries')
    .select(['id', 'state', 'attempts'])
    .where('id', 'in', ids)
    .execute();
}

/** Deliveries, newest first, optionally of one event or one subscriber. */
export async function listDeliveries({
  tx,
  eventId,
  subscriber,
  limit,
}: {
  tx: Executor;
  eventId?: string;
  subscriber?: string;
  limit: number;
}): Promise<EventDeliveryRow[]> {
  let q = tx
    .selectFrom('event_deliveries')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit);
  if (eventId) q = q.where('event_id', '=', eventId);
  if (subscriber) q = q.where('subscriber', '=', subscriber);
  return q.execute();
}

/** Events, newest first, optionally of some types. */
export async function listEvents({
  tx,
  types,
  limit,
}: {
  tx: Executor;
  types?: readonly string[];
  limit: number;
}): Promise<EventRow[]> {
  let q = tx.selectFrom('events').selectAll().orderBy('id', 'desc').limit(limit);
  if (types?.length) q = q.where('type', 'in', types);
  return q.execute();
}

/**
 * Deletes up to `limit` events created before `before` that no subscriber still has to act on (every
 * delivery done or failed), with their deliveries; returns how many events went.
 */
export async function deleteSettledBefore({
  tx,
  before,
  limit,
}: {
  tx: Executor;
  before: number;
  limit: number;
}): Promise<number> {
  const rows = await tx
    .selectFrom('events as e')
    .select('e.id')
    .where('e.created_at', '<', before)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('event_deliveries as d')
            .select('d.id')
            .whereRef('d.event_id', '=', 'e.id')
            .where('d.state', '=', 'pending'),
        ),
      ),
    )
    .orderBy('e.created_at')
    .limit(limit)
    .execute();
  const ids = rows.map((r) => r.id);
  if (ids.length === 0) return 0;
  await tx.deleteFrom('event_deliveries').where('event_id', 'in', ids).execute();
  await tx.deleteFrom('events').where('id', 'in', ids).execute();
  return ids.length;
}
