import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { type Db, inTransaction } from '../store/index.js';
import { backoffMs } from './backoff.js';
import * as repo from './event.repo.js';
import type { EventRecord } from './event-definition.js';
import type { Subscriber } from './subscriber.js';

export interface SubscriberDeliveryOptions {
  /** Attempts before a delivery is marked failed (a subscriber may set its own). */
  maxAttempts: number;
  /** Delay after the first failure; doubles per attempt, with jitter, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How long a claim holds; longer than a handler can take, so a live holder never loses it. */
  leaseMs: number;
  /** Deliveries claimed per pass. */
  batch: number;
  /** Period of the loop start() runs. */
  pollMs: number;
  /** How long close() and flush() wait by default. */
  flushTimeoutMs: number;
}

export const DEFAULT_SUBSCRIBER_DELIVERY: SubscriberDeliveryOptions = {
  maxAttempts: 8,
  baseDelayMs: 5_000,
  maxDelayMs: 3_600_000,
  leaseMs: 60_000,
  batch: 50,
  pollMs: 5_000,
  flushTimeoutMs: 5_000,
};

/** How one attempt of one delivery went ('lost': another deliverer holds it now; nothing was done). */
export interface SubscriberOutcome {
  deliveryId: string;
  eventId: string;
  type: string;
  subscriber: string;
  attempt: number;
  state: 'done' | 'pending' | 'failed' | 'lost';
  error?: string;
}

/** Thrown inside the handler's transaction to roll it back when the lease was lost meanwhile. */
class LeaseLost extends Error {}

/**
 * Runs due deliveries of in-process subscribers. Any number of deliverers (replicas, CLI processes)
 * may share one database: each pass claims rows with a lease taken in a conditional UPDATE, and a
 * delivery is marked done only by its lease holder, in the handler's own transaction for atomic
 * subscribers, so a handler's database effects commit once even when a lease expires mid-handler.
 */
export function createSubscriberDeliverer(deps: {
  db: Db;
  clock: Clock;
  options: SubscriberDeliveryOptions;
  random: () => number;
  subscribers: () => ReadonlyMap<string, Subscriber>;
}) {
  const { db, clock, options: o, random } = deps;
  const instance = randomBytes(6).toString('hex');
  let pass = 0;

  function toEvent(row: repo.ClaimedEventDelivery): EventRecord {
    return {
      id: row.event_id,
      type: row.type,
      key: row.key,
      actor: row.actor,
      createdAt: row.event_created_at,
      payload: JSON.parse(row.payload) as unknown,
    };
  }

  async function attempt(
    row: repo.ClaimedEventDelivery,
    subscriber: Subscriber,
    owner: string,
  ): Promise<SubscriberOutcome> {
    const n = row.attempts + 1;
    const base = {
      deliveryId: row.id,
      eventId: row.event_id,
      type: row.type,
      subscriber: row.subscriber,
      attempt: n,
    };
    const event = toEvent(row);
    const ctx = { key: `${row.event_id}:${row.subscriber}`, deliveryId: row.id, attempt: n };
    try {
      if (subscriber.atomic === false) {
        await subscriber.handle(event, { ...ctx, tx: db });
        if (!(await repo.markDone({ tx: db, id: row.id, owner, attempts: n, at: clock.now() })))
          return { ...base, state: 'lost' };
      } else {
        // The mark comes first: it fails at once if the lease was lost, and otherwise holds the row
        // (PostgreSQL row lock, SQLite write lock) until the handler's effects commit with it.
        await inTransaction(db, async (tx) => {
          if (!(await repo.markDone({ tx, id: row.id, owner, attempts: n, at: clock.now() })))
            throw new LeaseLost();
          await subscriber.handle(event, { ...ctx, tx });
        });
      }
      return { ...base, state: 'done' };
    } catch (err) {
      if (err instanceof LeaseLost) return { ...base, state: 'lost' };
      const error = (err instanceof Error ? err.message : String(err)).slice(0, 1000) || 'handler failed';
      const max = subscriber.maxAttempts ?? o.maxAttempts;
      const state = n >= max ? 'failed' : 'pending';
      const now = clock.now();
      const recorded = await repo.recordFailure({
        tx: db,
        id: row.id,
        owner,
        set: {
          state,
          attempts: n,
          next_attempt_at: state === 'pending' ? now + backoffMs(o, n, random) : row.next_attempt_at,
          last_error: error,
          finished_at: state === 'pending' ? null : now,
        },
      });
      return recorded ? { ...base, state, error } : { ...base, state: 'lost', error };
    }
  }

  /** One pass: claim what is due (or exactly `ids`) and run each delivery once, oldest event first. */
  async function runOnce(opts: { ids?: readonly string[] } = {}): Promise<SubscriberOutcome[]> {
    const subscribers = deps.subscribers();
    const owner = `${instance}:${++pass}`;
    const now = clock.now();
    const claimed = await repo.claimDue({
      tx: db,
      owner,
      now,
      leaseUntil: now + o.leaseMs,
      limit: opts.ids ? opts.ids.length : o.batch,
      subscribers: [...subscribers.keys()],
      ...(opts.ids ? { ids: opts.ids } : {}),
    });
    const outcomes: SubscriberOutcome[] = [];
    // One at a time: a subscriber sees the events of one pass in the order they were emitted.
    for (const row of claimed) outcomes.push(await attempt(row, subscribers.get(row.subscriber)!, owner));
    return outcomes;
  }

  return { runOnce };
}
