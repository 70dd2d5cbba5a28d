import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createAuditLog } from '../../src/audit/index.js';
import { fakeClock } from '../../src/core/clock.js';
import { defineEvent, type EventBus, jobTrigger } from '../../src/events/index.js';
import { createInProcessJobQueue, defineJob, type JobQueue } from '../../src/jobs/index.js';
import { inTransaction } from '../../src/store/index.js';
import { describeEachBackend } from '../support/backends.js';
import { createTestEventBus } from '../support/events.js';

/*
 * Job triggers on the real job queue (in-process, on the database): the trigger's key (event id +
 * subscriber) makes a re-delivered event enqueue nothing new, and a payload the job refuses fails the
 * delivery with the field named, retried and then failed, never a half-made job.
 */

const driftDetected = defineEvent({
  type: 'test.drift.detected',
  emittedBy: 'test',
  description: 'a monitor saw drift',
  schema: z.object({ model: z.string(), score: z.number() }),
});

describeEachBackend('events trigger jobs through the JobQueue port', (getStore) => {
  const clock = fakeClock(Date.now());
  let queue: JobQueue;
  let bus: EventBus;
  let failAfterEnqueue = 0;

  beforeAll(() => {
    const store = getStore();
    const audit = createAuditLog({
      db: store.db,
      dialect: store.dialect,
      clock,
      key: 'jobs-events-key-0123456789',
    });
    queue = createInProcessJobQueue({ db: store.db, dialect: store.dialect, audit, clock });
    queue.define(
      defineJob({
        name: 'test.retrain',
        payload: z.strictObject({ model: z.string().min(1), cause: z.string() }),
        handler: async () => undefined,
      }),
    );
    bus = createTestEventBus(store, {
      definitions: [driftDetected],
      clock,
      random: () => 0.5,
      delivery: { baseDelayMs: 1000, maxAttempts: 3 },
    });
    const enqueue = async (name: string, payload: unknown, o: { key: string }) => {
      const job = await queue.enqueue(name, payload, o);
      // The queue took the job but its answer was lost: the delivery fails and runs again.
      if (failAfterEnqueue > 0) {
        failAfterEnqueue--;
        throw new Error('connection reset after enqueue');
      }
      return job;
    };
    bus.subscribe(
      jobTrigger({
        name: 'test.retrain-on-drift',
        types: [driftDetected.type],
        job: 'test.retrain',
        enqueue,
        payload: (e) => ({ model: (e.payload as { model: string }).model, cause: e.id }),
      }),
    );
    bus.subscribe(
      jobTrigger({
        name: 'test.bad-trigger',
        types: [driftDetected.type],
        job: 'test.retrain',
        enqueue,
        // The job's schema wants a model name; this trigger sends none.
        payload: (e) => ({ model: '', cause: e.id }),
      }),
    );
  });
  afterAll(async () => {
    await bus.close(0);
    await queue.close();
  });

  it('a re-delivered event enqueues its job once; a refused payload fails the delivery naming the field', async () => {
    await bus.close(0);
    const model = `churn-${Math.random().toString(36).slice(2, 8)}`;
    failAfterEnqueue = 1;
    const { event } = await inTransaction(getStore().db, (tx) =>
      bus.emit(tx, driftDetected.type, { model, score: 0.4 }),
    );
    const first = await bus.deliverDue();
    const good = (p: typeof first) => p.subscribers.filter((o) => o.subscriber === 'test.retrain-on-drift');
    const bad = (p: typeof first) => p.subscribers.filter((o) => o.subscriber === 'test.bad-trigger');
    expect(good(first)).toMatchObject([{ state: 'pending', error: 'connection reset after enqueue' }]);
    expect(bad(first)).toMatchObject([
      { state: 'pending', error: expect.stringMatching(/^payload\.model: /) },
    ]);
    clock.advance(60_000);
    const second = await bus.deliverDue();
    expect(good(second)).toMatchObject([{ state: 'done', attempt: 2 }]);
    expect(bad(second)).toMatchObject([{ state: 'pending', attempt: 2 }]);
    clock.advance(60_000);
    const third = await bus.deliverDue();
    expect(bad(third)).toMatchObject([
      { state: 'failed', attempt: 3, error: expect.stringMatching(/^payload\.model: /) },
    ]);
    clock.advance(3_600_000);
    expect((await bus.deliverDue()).subscribers).toEqual([]);

    const jobs = (await queue.list({ name: 'test.retrain', limit: 1000 })).jobs.filter(
      (j) => (j.payload as { model: string }).model === model,
    );
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      key: `${event.id}:test.retrain-on-drift`,
      payload: { model, cause: event.id },
    });
    // Nothing half-made for the refused payload.
    expect(
      (await queue.list({ name: 'test.retrain', limit: 1000 })).jobs.filter(
        (j) => j.key === `${event.id}:test.bad-trigger`,
      ),
    ).toEqual([]);
  });
});
