import type { SelectQueryBuilder } from 'kysely';
import type { Executor } from '../store/index.js';
import type { Database } from '../store/schema.js';

/** The outbox tables whose pending rows deliverers take with leases (same lease columns in both). */
export type LeasedDeliveryTable = 'event_deliveries' | 'webhook_deliveries';

type Candidates = SelectQueryBuilder<Database, 'event_deliveries', { id: string }>;

/**
 * Leases up to `limit` pending rows of `table` to `owner`: due ones, or exactly `ids` whatever their
 * due time. A row is only taken while its lease is free or expired, so of two deliverers racing for
 * it exactly one UPDATE matches (PostgreSQL re-checks the WHERE on the row version it waited for;
 * SQLite runs one writer at a time). The caller reads back what `owner` holds.
 */
export async function leasePendingDeliveries(
  tx: Executor,
  table: LeasedDeliveryTable,
  o: {
    owner: string;
    now: number;
    leaseUntil: number;
    limit: number;
    ids?: readonly string[] | undefined;
    /** Narrows the candidates further (e.g. to the subscribers this process knows). */
    narrow?: (q: Candidates) => Candidates;
  },
): Promise<void> {
  // Typed as one table: both have the same id, state, next_attempt_at and lease columns.
  const t = table as 'event_deliveries';
  let candidates: Candidates = tx
    .selectFrom(t)
    .select('id')
    .where('state', '=', 'pending')
    // Skip rows others hold, or a deliverer would keep picking the same held rows and take nothing.
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', o.now)]))
    .orderBy('next_attempt_at')
    .orderBy('id')
    .limit(o.limit);
  candidates = o.ids ? candidates.where('id', 'in', o.ids) : candidates.where('next_attempt_at', '<=', o.now);
  if (o.narrow) candidates = o.narrow(candidates);
  await tx
    .updateTable(t)
    .set({ lease_owner: o.owner, lease_until: o.leaseUntil })
    .where('id', 'in', candidates)
    .where('state', '=', 'pending')
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', o.now)]))
    .execute();
}
