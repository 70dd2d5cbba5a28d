import type { Selectable } from 'kysely';
import type { Executor } from '../../store/index.js';
import type {
  WebhookAttemptTable,
  WebhookDeliveryTable,
  WebhookEventTable,
  WebhookTargetTable,
} from '../../store/schema-webhooks.js';
import { leasePendingDeliveries } from '../delivery-lease.repo.js';

export type TargetRow = Selectable<WebhookTargetTable>;
export type DeliveryRow = Selectable<WebhookDeliveryTable>;
export type AttemptRow = Selectable<WebhookAttemptTable>;

/** A claimed delivery with what sending it needs. */
export interface ClaimedDelivery extends DeliveryRow {
  url: string;
  secret: string;
  target_deleted_at: number | null;
  event_type: string;
  body: string;
}

export async function insertTarget({ tx, values }: { tx: Executor; values: WebhookTargetTable }) {
  await tx.insertInto('webhook_targets').values(values).execute();
}

/** Targets whose secret is still stored in plaintext (written before secrets were sealed). */
export async function listUnsealedTargets({ tx }: { tx: Executor }) {
  return tx
    .selectFrom('webhook_targets')
    .select(['id', 'secret'])
    .where('secret', 'not like', 'enc:v1:%')
    .execute();
}

export async function setTargetSecret({ tx, id, secret }: { tx: Executor; id: string; secret: string }) {
  await tx.updateTable('webhook_targets').set({ secret }).where('id', '=', id).execute();
}

export async function findTarget({ tx, id }: { tx: Executor; id: string }): Promise<TargetRow | undefined> {
  return tx.selectFrom('webhook_targets').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Targets not removed, oldest first. */
export async function listLiveTargets({ tx }: { tx: Executor }): Promise<TargetRow[]> {
  return tx
    .selectFrom('webhook_targets')
    .selectAll()
    .where('deleted_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function softDeleteTarget({ tx, id, at }: { tx: Executor; id: string; at: number }) {
  const r = await tx
    .updateTable('webhook_targets')
    .set({ deleted_at: at })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function insertEvent({ tx, values }: { tx: Executor; values: WebhookEventTable }) {
  await tx.insertInto('webhook_events').values(values).execute();
}

export async function insertDeliveries({ tx, rows }: { tx: Executor; rows: WebhookDeliveryTable[] }) {
  if (rows.length) await tx.insertInto('webhook_deliveries').values(rows).execute();
}

/** Takes up to `limit` due deliveries for `owner` (leasePendingDeliveries), then reads back what it got. */
export async function claimDue({
  tx,
  owner,
  now,
  leaseUntil,
  limit,
  ids,
}: {
  tx: Executor;
  owner: string;
  now: number;
  leaseUntil: number;
  limit: number;
  /** Only these deliveries (e.g. a test send), whatever their due time. */
  ids?: string[];
}): Promise<ClaimedDelivery[]> {
  await leasePendingDeliveries(tx, 'webhook_deliveries', { owner, now, leaseUntil, limit, ids });
  return tx
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_targets as t', 't.id', 'd.target_id')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select([
      't.url as url',
      't.secret as secret',
      't.deleted_at as target_deleted_at',
      'e.type as event_type',
      'e.body as body',
    ])
    .where('d.lease_owner', '=', owner)
    .where('d.state', '=', 'pending')
    .orderBy('d.next_attempt_at')
    .execute();
}

/**
 * Logs one attempt and moves the delivery on, but only while `owner` still holds it: a deliverer
 * whose lease ran out must not overwrite the newer holder's result.
 */
export async function recordAttempt({
  tx,
  owner,
  attempt,
  set,
}: {
  tx: Executor;
  owner: string;
  attempt: WebhookAttemptTable;
  set: Pick<WebhookDeliveryTable, 'state' | 'attempts' | 'next_attempt_at' | 'last_status' | 'last_error'> & {
    finished_at: number | null;
  };
}): Promise<boolean> {
  const r = await tx
    .updateTable('webhook_deliveries')
    .set({ ...set, lease_owner: null, lease_until: null })
    .where('id', '=', attempt.delivery_id)
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;
  await tx.insertInto('webhook_attempts').values(attempt).execute();
  return true;
}

export async function listDeliveries({
  tx,
  targetId,
  limit,
  ids,
}: {
  tx: Executor;
  targetId?: string;
  limit: number;
  ids?: string[];
}): Promise<(DeliveryRow & { event_type: string })[]> {
  let q = tx
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select('e.type as event_type')
    .orderBy('d.created_at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(limit);
  if (targetId) q = q.where('d.target_id', '=', targetId);
  if (ids) q = q.where('d.id', 'in', ids);
  return q.execute();
}

export async function listAttempts({ tx, deliveryIds }: { tx: Executor; deliveryIds: string[] }) {
  if (!deliveryIds.length) return [];
  return tx
    .selectFrom('webhook_attempts')
    .selectAll()
    .where('delivery_id', 'in', deliveryIds)
    .orderBy('delivery_id')
    .orderBy('attempt')
    .execute();
}

/** State and attempt count of some deliveries (those not found are not returned). */
export async function deliveryProgress({ tx, ids }: { tx: Executor; ids: string[] }) {
  if (!ids.length) return [];
  return tx
    .selectFrom('webhook_deliveries')
    .select(['id', 'state', 'attempts'])
    .where('id', 'in', ids)
    .execute();
}
