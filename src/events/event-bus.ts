import { type Clock, toIso } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Db, Tx } from '../store/index.js';
import type { EventDeliveryTable } from '../store/schema-events.js';
import { createDeliveryLoop } from './delivery-loop.js';
import * as repo from './event.repo.js';
import type { EventCatalogue } from './event-catalogue.js';
import type { EmitOptions, Emitted, EventRecord } from './event-definition.js';
import type { Subscriber } from './subscriber.js';
import {
  createSubscriberDeliverer,
  DEFAULT_SUBSCRIBER_DELIVERY,
  type SubscriberDeliveryOptions,
  type SubscriberOutcome,
} from './subscriber-deliverer.js';
import type { AttemptOutcome, WebhookService } from './webhooks/index.js';

/** What the bus needs of the webhook service: its outbox, its delivery pass and its lifecycle. */
export type WebhookOutbox = Pick<WebhookService, 'emit' | 'deliverDue' | 'start' | 'flush' | 'close'>;

export interface EventBusDeps {
  db: Db;
  clock: Clock;
  /** Every event type the domains declared (createEventCatalogue). */
  catalogue: EventCatalogue;
  /** Signed webhooks: each emitted event also goes to the targets that want it. */
  webhooks: WebhookOutbox;
  delivery?: Partial<SubscriberDeliveryOptions>;
  /** Jitter source for retry backoff (default Math.random). */
  random?: () => number;
}

/** What one deliverDue() pass did. */
export interface DeliveryPass {
  subscribers: SubscriberOutcome[];
  webhooks: AttemptOutcome[];
}

/** A subscriber's delivery of one event, as listings show it. */
export interface EventDeliveryView {
  id: string;
  eventId: string;
  subscriber: string;
  state: 'pending' | 'done' | 'failed';
  attempts: number;
  /** When the next attempt is due; absent once done or failed. */
  nextAttemptAt?: string;
  lastError?: string;
  createdAt: string;
  finishedAt?: string;
}

const SUBSCRIBER_NAME = /^[a-z0-9][a-z0-9._:-]{0,99}$/;

function toRecord(row: repo.EventRow): EventRecord {
  return {
    id: row.id,
    type: row.type,
    key: row.key,
    actor: row.actor,
    createdAt: row.created_at,
    payload: JSON.parse(row.payload) as unknown,
  };
}

/**
 * The event bus: a transactional outbox and its subscribers. emit() writes the event, one delivery row
 * per in-process subscriber of its type and one per webhook target that wants it, all in the caller's
 * transaction; nothing is delivered unless that transaction commits. Delivery is at-least-once, and each
 * subscriber acts once: deliveries are claimed with leases, and an atomic subscriber's effects commit in
 * the transaction that marks its delivery done.
 *
 * No timer runs by itself. deliverDue() is one pass (the periodic job calls it); emit() kicks a pass in
 * the emitting process once its transaction has committed; start() runs a loop for a process that asks.
 */
export function createEventBus(deps: EventBusDeps) {
  const { db, clock, catalogue, webhooks } = deps;
  const options: SubscriberDeliveryOptions = { ...DEFAULT_SUBSCRIBER_DELIVERY, ...deps.delivery };
  const subscribers = new Map<string, Subscriber>();
  /** type -> subscriber names, in registration order. */
  const byType = new Map<string, string[]>();
  const deliverer = createSubscriberDeliverer({
    db,
    clock,
    options,
    random: deps.random ?? Math.random,
    subscribers: () => subscribers,
  });

  async function deliverDue(): Promise<DeliveryPass> {
    const [s, w] = await Promise.all([deliverer.runOnce(), webhooks.deliverDue()]);
    return { subscribers: s, webhooks: w };
  }

  const loop = createDeliveryLoop({
    runOnce: () => deliverer.runOnce(),
    progress: async (ids) =>
      (await repo.deliveryProgress({ tx: db, ids })).map((d) => ({
        id: d.id,
        settled: d.state !== 'pending' || d.attempts > 0,
      })),
    pollMs: options.pollMs,
    flushTimeoutMs: options.flushTimeoutMs,
  });

  /** Registers a subscriber; every process registers the same ones, in the wiring, before emitting. */
  function subscribe(subscriber: Subscriber): void {
    if (!SUBSCRIBER_NAME.test(subscriber.name))
      throw new ValidationError(
        `subscriber '${subscriber.name}': a name is 1-100 characters of a-z, 0-9, '.', '_', ':' and '-'`,
        { field: 'name' },
      );
    if (subscribers.has(subscriber.name))
      throw new ValidationError(`subscriber '${subscriber.name}' is registered twice`, { field: 'name' });
    if (!subscriber.types.length)
      throw new ValidationError(`subscriber '${subscriber.name}': types must name at least one event`, {
        field: 'types',
      });
    if (
      subscriber.maxAttempts !== undefined &&
      !(Number.isInteger(subscriber.maxAttempts) && subscriber.maxAttempts >= 1)
    )
      throw new ValidationError(`subscriber '${subscriber.name}': maxAttempts must be a whole number >= 1`, {
        field: 'maxAttempts',
      });
    subscriber.types.forEach((t, i) => {
      if (!catalogue.has(t))
        throw new ValidationError(
          `types.${i}: subscriber '${subscriber.name}' names unknown event type '${t}'; one of ${catalogue.types().join(', ')}`,
          { field: `types.${i}` },
        );
    });
    subscribers.set(subscriber.name, subscriber);
    for (const t of new Set(subscriber.types)) byType.set(t, [...(byType.get(t) ?? []), subscriber.name]);
  }

  async function emit(tx: Tx, type: string, payload: unknown, o: EmitOptions = {}): Promise<Emitted> {
    const parsed = catalogue.parse(type, payload);
    if (o.key !== undefined && (o.key.length < 1 || o.key.length > 200))
      throw new ValidationError('key: must be 1-200 characters', { field: 'key' });
    const now = clock.now();
    const row = {
      id: newId('evt', now),
      type,
      key: o.key ?? null,
      payload: JSON.stringify(parsed ?? null),
      actor: o.actor ?? null,
      created_at: now,
    };
    if (!(await repo.insertEvent({ tx, row }))) {
      // Emitted before under this key: its deliveries were written then.
      const first = await repo.findEventByKey({ tx, type, key: row.key! });
      return { event: toRecord(first!), written: false };
    }
    const rows: EventDeliveryTable[] = (byType.get(type) ?? []).map((subscriber) => ({
      id: newId('evd', now),
      event_id: row.id,
      subscriber,
      state: 'pending',
      attempts: 0,
      next_attempt_at: now,
      lease_owner: null,
      lease_until: null,
      last_error: null,
      created_at: now,
      finished_at: null,
    }));
    await repo.insertDeliveries({ tx, rows });
    await webhooks.emit(tx, { id: row.id, createdAt: now, type, payload: parsed });
    loop.watch(rows.map((r) => r.id));
    return { event: toRecord(row), written: true };
  }

  return {
    catalogue,
    /**
     * Writes an event in the caller's transaction: `emit(tx, 'alias.moved', payload, { key })`.
     * ValidationError (nothing written) for an unknown type or a payload that fails its schema.
     */
    emit,
    subscribe,
    /** One delivery pass: claims due subscriber and webhook deliveries and attempts each once. */
    deliverDue,
    /** Starts the retry loops (subscribers and webhooks) of a long-running process; explicit, never automatic. */
    start(): void {
      loop.start();
      webhooks.start();
    },
    /** Waits (at most timeoutMs) until what this process emitted has been attempted once. */
    async flush(timeoutMs?: number): Promise<void> {
      await Promise.all([loop.flush(timeoutMs), webhooks.flush(timeoutMs)]);
    },
    /** Stops the loops after a short flush; call before closing the store. */
    async close(timeoutMs?: number): Promise<void> {
      await Promise.all([loop.close(timeoutMs), webhooks.close(timeoutMs)]);
    },
    /** Recent events, newest first. */
    async events(q: { types?: readonly string[]; limit?: number } = {}): Promise<EventRecord[]> {
      return (
        await repo.listEvents({ tx: db, limit: q.limit ?? 50, ...(q.types ? { types: q.types } : {}) })
      ).map(toRecord);
    },
    /** Subscriber deliveries, newest first, of one event or one subscriber. */
    async deliveries(
      q: { eventId?: string; subscriber?: string; limit?: number } = {},
    ): Promise<EventDeliveryView[]> {
      const rows = await repo.listDeliveries({
        tx: db,
        limit: q.limit ?? 50,
        ...(q.eventId ? { eventId: q.eventId } : {}),
        ...(q.subscriber ? { subscriber: q.subscriber } : {}),
      });
      return rows.map((r) => ({
        id: r.id,
        eventId: r.event_id,
        subscriber: r.subscriber,
        state: r.state as EventDeliveryView['state'],
        attempts: r.attempts,
        ...(r.state === 'pending' ? { nextAttemptAt: toIso(r.next_attempt_at) } : {}),
        ...(r.last_error !== null ? { lastError: r.last_error } : {}),
        createdAt: toIso(r.created_at),
        ...(r.finished_at !== null ? { finishedAt: toIso(r.finished_at) } : {}),
      }));
    },
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
