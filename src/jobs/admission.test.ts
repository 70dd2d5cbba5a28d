import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { describeEachBackend } from '../../test/support/backends.js';
import { redisUrl, serviceAvailable } from '../../test/support/services.js';
import { createAuditLog } from '../audit/index.js';
import { systemClock } from '../core/clock.js';
import { BudgetExceededError, isAppError } from '../core/errors.js';
import type { Store } from '../store/index.js';
import type { JobAdmission } from './admission.js';
import { createBullmqJobQueue } from './bullmq-queue.js';
import { createInProcessJobQueue } from './in-process-queue.js';
import type { Job } from './job.schema.js';
import type { JobQueue } from './job-queue.js';

/*
 * The admission seam, on both queue implementations, with an in-memory port: a refused enqueue writes
 * nothing; a job the port holds stays queued (its reason shown, no attempt spent, never failed) and
 * runs once the port lets it go.
 */

const redisUp = await serviceAvailable('redis', redisUrl, 6379);

/** Holds or refuses the scope { experimentId: 'blocked' } while `blocked` is true. */
function toggleAdmission() {
  const state = { blocked: false };
  const admission: JobAdmission = {
    async admit({ scope }) {
      if (state.blocked && scope.experimentId === 'blocked')
        throw new BudgetExceededError('refused: the test budget is spent');
      return { ...scope, tags: { added: 'by-port' } };
    },
    async holds() {
      const blocked = state.blocked;
      return (scope) =>
        blocked && scope.experimentId === 'blocked' ? 'held: the test budget is spent' : null;
    },
  };
  return { state, admission };
}

function admissionSuite(make: (store: Store, admission: JobAdmission) => JobQueue, get: () => Store) {
  it('refuses at enqueue, holds at claim without failing, and runs once released', async () => {
    const { state, admission } = toggleAdmission();
    const queue = make(get(), admission);
    const name = `admit.${randomBytes(3).toString('hex')}`;
    const ran: string[] = [];
    queue.define({
      name,
      payload: z.object({ exp: z.string() }),
      scopeOf: (p) => ({ experimentId: p.exp }),
      handler: async (p) => ran.push(p.exp),
    });
    const until = async (id: string, ok: (j: Job) => boolean) => {
      for (let i = 0; i < 400; i++) {
        const j = await queue.get(id);
        if (ok(j)) return j;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`job ${id}: ${JSON.stringify(await queue.get(id))}`);
    };
    try {
      const queued = await queue.enqueue(name, { exp: 'blocked' });
      expect(queued.scope).toEqual({ experimentId: 'blocked', tags: { added: 'by-port' } });
      state.blocked = true;
      const before = (await queue.list({ name })).jobs.length;
      const err = await queue.enqueue(name, { exp: 'blocked' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAppError(err) && err.code).toBe('BUDGET_EXCEEDED');
      expect((await queue.list({ name })).jobs.length).toBe(before);

      const worker = queue.work({ queues: ['default'] });
      try {
        const held = await until(queued.id, (j) => j.heldReason != null);
        expect(held.status).toBe('queued');
        expect(held.attempts).toBe(0);
        expect((await queue.get(queued.id)).log).toEqual([]);
        const free = await queue.enqueue(name, { exp: 'free' });
        await until(free.id, (j) => j.status === 'completed');
        expect(ran).toEqual(['free']);
        state.blocked = false;
        const done = await until(queued.id, (j) => j.status === 'completed');
        expect(done.heldReason).toBeNull();
        expect(done.attempts).toBe(1);
        expect(ran).toEqual(['free', 'blocked']);
      } finally {
        await worker.close();
      }
    } finally {
      await queue.close();
    }
  }, 60_000);
}

const auditOn = (store: Store) =>
  createAuditLog({ db: store.db, dialect: store.dialect, clock: systemClock, key: 'k'.repeat(32) });

describeEachBackend('job admission, in-process queue', (get) =>
  admissionSuite(
    (store, admission) =>
      createInProcessJobQueue(
        { db: store.db, dialect: store.dialect, audit: auditOn(store), clock: systemClock, admission },
        { pollMs: 20, holdRecheckMs: 100 },
      ),
    get,
  ),
);

if (redisUp)
  describeEachBackend(
    'job admission, BullMQ queue',
    (get) =>
      admissionSuite(
        (store, admission) =>
          createBullmqJobQueue(
            { db: store.db, dialect: store.dialect, audit: auditOn(store), clock: systemClock, admission },
            {
              url: redisUrl,
              prefix: `sextant-test-${randomBytes(4).toString('hex')}`,
              lockMs: 600,
              stalledIntervalMs: 500,
              holdRecheckMs: 100,
            },
          ),
        get,
      ),
    ['postgres'],
  );
