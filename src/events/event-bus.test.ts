import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { describeEachBackend } from '../../test/support/backends.js';
import { createTestEventBus } from '../../test/support/events.js';
import { createAuditLog } from '../audit/index.js';
import { type Clock, fakeClock } from '../core/clock.js';
import { isAppError } from '../core/errors.js';
import { inTransaction, openStore, type Store } from '../store/index.js';
import * as repo from './event.repo.js';
import { defineEvent, type EventBus, type EventRecord, jobTrigger, type Subscriber } from './index.js';

/*
 * The event bus contract, on SQLite and PostgreSQL: what is emitted in a transaction is delivered only
 * if it commits, to each subscriber once, across deliverers sharing one database; failures retry with
 * backoff and end failed; bad emits are refused whole.
 */

const thingHappened = defineEvent({
  type: 'test.thing.happened',
  emittedBy: 'test',
  description: 'a thing happened',
  schema: z.object({ name: z.string().min(1), n: z.number().int() }),
});
const otherHappened = defineEvent({
  type: 'test.other.happened',
  emittedBy: 'test',
  description: 'another thing happened',
  schema: z.object({ note: z.string().optional() }),
});
const definitions = [thingHappened, otherHappened];

let seq = 0;
const uniq = (p: string) => `${p}-${Date.now().toString(36)}-${++seq}`;

describeEachBackend('event bus', (get, backend) => {
  /** A second pool on the same database, as a second replica has (SQLite: the same connection, see below). */
  let second: Store;
  beforeAll(async () => {
    // Two SQLite connections in ONE thread would deadlock (a synchronous busy-wait on a lock this very
    // thread holds), so on SQLite the two "replicas" share the store's connection and interleave on it;
    // the two-process e2e test covers separate SQLite connections.
    second = backend === 'postgres' ? await openStore(get().url, { migrate: false }) : get();
  });
  afterAll(async () => {
    if (backend === 'postgres') await second.close();
  });

  const audit = (store: Store, clock: Clock) =>
    createAuditLog({ db: store.db, dialect: store.dialect, clock, key: 'test-audit-key-0123456789' });

  /** A bus whose atomic subscriber writes an audit entry per event it handles (a real DB effect). */
  function busWith(store: Store, clock: Clock, subscribers: Subscriber[], o: { maxAttempts?: number } = {}) {
    const bus = createTestEventBus(store, {
      definitions,
      clock,
      random: () => 0.5,
      delivery: { baseDelayMs: 1000, batch: 5, ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}) },
    });
    for (const s of subscribers) bus.subscribe(s);
    return bus;
  }

  function auditingSubscriber(store: Store, clock: Clock, name: string, calls: string[]): Subscriber {
    const log = audit(store, clock);
    return {
      name,
      types: [thingHappened.type],
      async handle(event, ctx) {
        calls.push(event.id);
        await log.append(ctx.tx, {
          actor: name,
          action: 'test.handled',
          entityType: 'event',
          entityId: event.id,
          details: { subscriber: name },
        });
      },
    };
  }

  const handledCount = async (store: Store, subscriber: string, eventId: string) =>
    (await audit(store, fakeClock()).list({ entityType: 'event', entityId: eventId, limit: 100 })).filter(
      (e) => e.actor === subscriber,
    ).length;

  const emitOne = (bus: EventBus, payload: unknown = { name: 'x', n: 1 }) =>
    inTransaction(get().db, (tx) => bus.emit(tx, thingHappened.type, payload));

  it('a payload that fails its schema is refused naming the field, and an unknown type is refused; nothing is written', async () => {
    const clock = fakeClock(Date.now());
    const calls: string[] = [];
    const name = uniq('refused');
    const bus = busWith(get(), clock, [auditingSubscriber(get(), clock, name, calls)]);
    const marker = uniq('marker');
    const before = (await bus.events({ limit: 1000 })).length;
    await inTransaction(get().db, async (tx) => {
      const bad = [
        [thingHappened.type, { name: marker, n: 1.5 }, /^payload\.n: /, 'payload.n'],
        [thingHappened.type, { n: 1 }, /^payload\.name: /, 'payload.name'],
        [thingHappened.type, { name: '', n: 1 }, /^payload\.name: /, 'payload.name'],
        [
          'test.nothing.happened',
          { name: marker, n: 1 },
          /^type: unknown event type 'test\.nothing\.happened'/,
          'type',
        ],
      ] as const;
      for (const [type, payload, message, field] of bad) {
        const err = await bus.emit(tx, type, payload).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isAppError(err) && err.code, type).toBe('VALIDATION_FAILED');
        expect((err as Error).message).toMatch(message);
        expect((err as { details?: { field?: string } }).details?.field).toBe(field);
      }
    });
    expect((await bus.events({ limit: 1000 })).length).toBe(before);
    expect(await bus.deliveries({ subscriber: name })).toEqual([]);
    // Positive control: the same emit with a good payload is written and delivered.
    const { event } = await emitOne(bus, { name: marker, n: 2 });
    await bus.flush(5000);
    expect(calls).toEqual([event.id]);
    await bus.close(0);
  });

  it('an event emitted in a rolled-back transaction is never delivered', async () => {
    const clock = fakeClock(Date.now());
    const calls: string[] = [];
    const name = uniq('rollback');
    const bus = busWith(get(), clock, [auditingSubscriber(get(), clock, name, calls)]);
    let emitted: EventRecord | undefined;
    await expect(
      inTransaction(get().db, async (tx) => {
        emitted = (await bus.emit(tx, thingHappened.type, { name: 'rolled back', n: 1 })).event;
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await bus.flush(2000);
    await bus.deliverDue();
    clock.advance(3_600_000);
    await bus.deliverDue();
    expect(calls).toEqual([]);
    expect(await bus.deliveries({ subscriber: name })).toEqual([]);
    expect((await bus.events({ limit: 1000 })).map((e) => e.id)).not.toContain(emitted!.id);
    await bus.close(0);
  });

  it('a committed event reaches each subscriber once although two replicas deliver concurrently', async () => {
    const clock = fakeClock(Date.now());
    const [s1, s2] = [uniq('replicas-a'), uniq('replicas-b')];
    const callsA: string[] = [];
    const callsB: string[] = [];
    // Two replicas: the same wiring (same subscriber names) on two connections to one database.
    const a = busWith(get(), clock, [
      auditingSubscriber(get(), clock, s1, callsA),
      auditingSubscriber(get(), clock, s2, callsA),
    ]);
    const b = busWith(second, clock, [
      auditingSubscriber(second, clock, s1, callsB),
      auditingSubscriber(second, clock, s2, callsB),
    ]);
    await a.close(0); // no after-commit kick: only the explicit passes below deliver
    const n = 20;
    const ids = await inTransaction(get().db, async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++)
        out.push((await a.emit(tx, thingHappened.type, { name: 'r', n: i })).event.id);
      return out;
    });
    const drain = async (bus: EventBus) => {
      let done = 0;
      for (let idle = 0; idle < 3; ) {
        const pass = await bus.deliverDue();
        const got = pass.subscribers.filter((o) => o.state === 'done').length;
        done += got;
        idle = pass.subscribers.length ? 0 : idle + 1;
      }
      return done;
    };
    const [byA, byB] = await Promise.all([drain(a), drain(b)]);
    expect(byA + byB).toBe(2 * n);
    expect(byA).toBeGreaterThan(0);
    expect(byB).toBeGreaterThan(0);
    // Each handler ran once per event, and its effect committed once.
    expect([...callsA, ...callsB].sort()).toEqual([...ids, ...ids].sort());
    for (const id of ids) {
      expect(await handledCount(get(), s1, id)).toBe(1);
      expect(await handledCount(get(), s2, id)).toBe(1);
    }
    expect((await a.deliveries({ subscriber: s1, limit: 100 })).every((d) => d.state === 'done')).toBe(true);
    // Head to head on one due delivery: exactly one of the two takes it.
    for (let round = 0; round < 6; round++) {
      await inTransaction(get().db, (tx) => a.emit(tx, otherHappened.type, {}));
      const { event } = await emitOne(a, { name: 'head', n: round });
      const [ra, rb] = await Promise.all([a.deliverDue(), b.deliverDue()]);
      const mine = [...ra.subscribers, ...rb.subscribers].filter((o) => o.eventId === event.id);
      expect(
        mine.map((o) => o.state),
        `round ${round}`,
      ).toEqual(['done', 'done']);
      expect(await handledCount(get(), s1, event.id)).toBe(1);
    }
    await b.close(0);
  });

  it('a failing handler is retried with backoff, its effects rolled back each time, and ends failed', async () => {
    const clock = fakeClock(Date.now());
    const name = uniq('failing');
    const log = audit(get(), clock);
    let calls = 0;
    const bus = busWith(
      get(),
      clock,
      [
        {
          name,
          types: [thingHappened.type],
          async handle(event, ctx) {
            calls++;
            // An effect made before the failure: rolled back with the attempt.
            await log.append(ctx.tx, {
              actor: name,
              action: 'test.handled',
              entityType: 'event',
              entityId: event.id,
            });
            throw new Error(`downstream unavailable (${calls})`);
          },
        },
      ],
      { maxAttempts: 3 },
    );
    await bus.close(0);
    const { event } = await emitOne(bus);
    const start = clock.now();
    expect((await bus.deliverDue()).subscribers).toMatchObject([
      { eventId: event.id, attempt: 1, state: 'pending', error: 'downstream unavailable (1)' },
    ]);
    let [d] = await bus.deliveries({ subscriber: name });
    // Equal jitter with random()=0.5: 1000/2 + 0.5*1000/2 = 750 ms after the first failure.
    expect(Date.parse(d!.nextAttemptAt!)).toBe(start + 750);
    expect((await bus.deliverDue()).subscribers).toEqual([]);
    clock.advance(749);
    expect((await bus.deliverDue()).subscribers).toEqual([]);
    clock.advance(1);
    expect((await bus.deliverDue()).subscribers).toMatchObject([{ attempt: 2, state: 'pending' }]);
    [d] = await bus.deliveries({ subscriber: name });
    expect(Date.parse(d!.nextAttemptAt!)).toBe(clock.now() + 1500); // the delay doubles
    clock.advance(1500);
    expect((await bus.deliverDue()).subscribers).toMatchObject([
      { attempt: 3, state: 'failed', error: 'downstream unavailable (3)' },
    ]);
    clock.advance(3_600_000);
    expect((await bus.deliverDue()).subscribers).toEqual([]);
    [d] = await bus.deliveries({ subscriber: name });
    expect(d).toMatchObject({ state: 'failed', attempts: 3, lastError: 'downstream unavailable (3)' });
    expect(d!.nextAttemptAt).toBeUndefined();
    expect(calls).toBe(3);
    expect(await handledCount(get(), name, event.id)).toBe(0);
  });

  it("a crashed holder's lease keeps others off until it expires; then another resumes, and the late holder cannot mark it", async () => {
    const clock = fakeClock(Date.now());
    const calls: string[] = [];
    const name = uniq('lease');
    const bus = busWith(get(), clock, [auditingSubscriber(get(), clock, name, calls)]);
    await bus.close(0);
    const { event } = await emitOne(bus);
    const now = clock.now();
    const held = await repo.claimDue({
      tx: second.db,
      owner: 'crashed:1',
      now,
      leaseUntil: now + 60_000,
      limit: 10,
      subscribers: [name],
    });
    expect(held.map((r) => r.event_id)).toEqual([event.id]);
    expect((await bus.deliverDue()).subscribers).toEqual([]);
    clock.advance(59_999);
    expect((await bus.deliverDue()).subscribers).toEqual([]);
    clock.advance(2);
    expect((await bus.deliverDue()).subscribers).toMatchObject([
      { eventId: event.id, attempt: 1, state: 'done' },
    ]);
    expect(
      await repo.markDone({ tx: second.db, id: held[0]!.id, owner: 'crashed:1', attempts: 1, at: now }),
    ).toBe(false);
    expect(calls).toEqual([event.id]);
    expect(await handledCount(get(), name, event.id)).toBe(1);
  });

  it('a handler that outlives its lease still commits once: a deliverer that finds the lease expired takes nothing', async () => {
    const clock = fakeClock(Date.now());
    const name = uniq('slow');
    const callsB: string[] = [];
    const b = busWith(second, clock, [auditingSubscriber(second, clock, name, callsB)]);
    let other: Promise<unknown> | undefined;
    const log = audit(get(), clock);
    const a = busWith(get(), clock, [
      {
        name,
        types: [thingHappened.type],
        async handle(event, ctx) {
          // The lease runs out while this handler works; a second replica starts a pass meanwhile.
          clock.advance(120_000);
          other = b.deliverDue();
          await new Promise((r) => setTimeout(r, 50));
          await log.append(ctx.tx, {
            actor: name,
            action: 'test.handled',
            entityType: 'event',
            entityId: event.id,
          });
        },
      },
    ]);
    await a.close(0);
    await b.close(0);
    const { event } = await emitOne(a);
    expect((await a.deliverDue()).subscribers).toMatchObject([{ eventId: event.id, state: 'done' }]);
    expect(((await other) as { subscribers: unknown[] }).subscribers).toEqual([]);
    expect(callsB).toEqual([]);
    expect(await handledCount(get(), name, event.id)).toBe(1);
  });

  it('an idempotency key makes a second emit write nothing and return the first event', async () => {
    const clock = fakeClock(Date.now());
    const calls: string[] = [];
    const name = uniq('keyed');
    const bus = busWith(get(), clock, [auditingSubscriber(get(), clock, name, calls)]);
    await bus.close(0);
    const key = uniq('window');
    const first = await inTransaction(get().db, (tx) =>
      bus.emit(tx, thingHappened.type, { name: 'w', n: 1 }, { key, actor: 'monitor' }),
    );
    const again = await inTransaction(get().db, (tx) =>
      bus.emit(tx, thingHappened.type, { name: 'w', n: 2 }, { key }),
    );
    expect(first.written).toBe(true);
    expect(again).toMatchObject({ written: false, event: { id: first.event.id, key, actor: 'monitor' } });
    expect(again.event.payload).toEqual({ name: 'w', n: 1 });
    // The same key on another type is another event.
    const other = await inTransaction(get().db, (tx) => bus.emit(tx, otherHappened.type, {}, { key }));
    expect(other.written).toBe(true);
    await bus.deliverDue();
    expect(calls).toEqual([first.event.id]);
    expect(await bus.deliveries({ subscriber: name })).toHaveLength(1);
  });

  it('a job trigger enqueues with a key from event and subscriber, the same on a retry, so the job exists once', async () => {
    const clock = fakeClock(Date.now());
    const name = uniq('trigger');
    // The jobs port as a queue that deduplicates on the key (what the JobQueue seam promises).
    const jobs = new Map<string, { name: string; payload: unknown }>();
    const keys: string[] = [];
    let failNext = true;
    const bus = busWith(get(), clock, [
      jobTrigger({
        name,
        types: [thingHappened.type],
        job: 'retrain',
        payload: (e) => ({ eventId: e.id, model: (e.payload as { name: string }).name }),
        enqueue: async (job, payload, { key }) => {
          keys.push(key);
          if (!jobs.has(key)) jobs.set(key, { name: job, payload });
          // The queue took the job but the answer was lost: the delivery fails and is retried.
          if (failNext) {
            failNext = false;
            throw new Error('connection reset after enqueue');
          }
        },
      }),
    ]);
    await bus.close(0);
    const { event } = await emitOne(bus, { name: 'churn', n: 1 });
    expect((await bus.deliverDue()).subscribers).toMatchObject([{ state: 'pending' }]);
    clock.advance(60_000);
    expect((await bus.deliverDue()).subscribers).toMatchObject([{ state: 'done', attempt: 2 }]);
    expect(keys).toEqual([`${event.id}:${name}`, `${event.id}:${name}`]);
    expect([...jobs.values()]).toEqual([{ name: 'retrain', payload: { eventId: event.id, model: 'churn' } }]);
  });

  it('the emitting process delivers after commit without an explicit pass', async () => {
    const clock = fakeClock(Date.now());
    const calls: string[] = [];
    const name = uniq('kick');
    const bus = busWith(get(), clock, [auditingSubscriber(get(), clock, name, calls)]);
    const { event } = await emitOne(bus);
    await bus.flush(5000);
    expect(calls).toEqual([event.id]);
    expect(await bus.deliveries({ subscriber: name })).toMatchObject([{ state: 'done', attempts: 1 }]);
    await bus.close(0);
  });

  it('subscribers are checked at wiring: unknown types, duplicate and malformed names are refused', () => {
    const bus = createTestEventBus(get(), { definitions });
    const handle = async () => {};
    bus.subscribe({ name: 'ok', types: [thingHappened.type], handle });
    expect(() => bus.subscribe({ name: 'ok', types: [thingHappened.type], handle })).toThrow(
      /registered twice/,
    );
    expect(() => bus.subscribe({ name: 'x', types: ['test.thing.happened', 'nope.nope'], handle })).toThrow(
      /^types\.1: subscriber 'x' names unknown event type 'nope\.nope'/,
    );
    expect(() => bus.subscribe({ name: 'Bad Name', types: [thingHappened.type], handle })).toThrow(
      /a name is/,
    );
    expect(() => bus.subscribe({ name: 'none', types: [], handle })).toThrow(/at least one event/);
    expect(() =>
      bus.subscribe({ name: 'zero', types: [thingHappened.type], maxAttempts: 0, handle }),
    ).toThrow(/maxAttempts must be a whole number/);
  });
});
