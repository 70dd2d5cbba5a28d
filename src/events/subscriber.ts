import type { Executor } from '../store/index.js';
import type { EventRecord } from './event-definition.js';

/** What a handler gets beside the event. */
export interface DeliveryContext {
  /**
   * Where to make database effects: the transaction that also marks this delivery done (atomic
   * subscribers), or the database itself (atomic: false). Inside an atomic handler use only this:
   * on SQLite the store has one connection, and a query on the database would wait for this very
   * transaction to end.
   */
  tx: Executor;
  /** `<event id>:<subscriber>`: the same on every attempt of one delivery, never the same for two. */
  key: string;
  deliveryId: string;
  /** 1 on the first attempt. */
  attempt: number;
}

/** An in-process consumer of events; every process that runs the wiring registers the same ones. */
export interface Subscriber {
  /** Stable, unique name: stored with each delivery, and half of the idempotency key. */
  name: string;
  /** Event types it receives; each must be in the catalogue. */
  types: readonly string[];
  /**
   * true (default): handle runs inside the transaction that marks the delivery done, so effects made
   * through ctx.tx commit exactly once. false: handle runs outside any transaction (effects outside
   * the database, e.g. a job queue on Redis); after a crash it may run again, with the same ctx.key,
   * which is what the receiving side deduplicates on.
   */
  atomic?: boolean;
  /** Attempts before the delivery ends failed (default: the bus's maxAttempts). */
  maxAttempts?: number;
  /** Throwing fails the attempt: it is retried with backoff, and ends failed after maxAttempts. */
  handle(event: EventRecord, ctx: DeliveryContext): Promise<void>;
}

/** The jobs port the wiring supplies: enqueue a named job once per key. */
export type JobEnqueuer = (name: string, payload: unknown, options: { key: string }) => Promise<unknown>;

/**
 * A subscriber that turns events into jobs. The job's idempotency key is the delivery's key (event id
 * + subscriber name), so a delivery retried after a crash between enqueue and done enqueues nothing new.
 */
export function jobTrigger(input: {
  name: string;
  types: readonly string[];
  /** The job to enqueue. */
  job: string;
  enqueue: JobEnqueuer;
  /** The job's payload (default: { event } with the whole event). */
  payload?: (event: EventRecord) => unknown;
  maxAttempts?: number;
}): Subscriber {
  const toPayload = input.payload ?? ((event: EventRecord) => ({ event }));
  return {
    name: input.name,
    types: input.types,
    atomic: false,
    ...(input.maxAttempts !== undefined ? { maxAttempts: input.maxAttempts } : {}),
    async handle(event, ctx) {
      await input.enqueue(input.job, toPayload(event), { key: ctx.key });
    },
  };
}
