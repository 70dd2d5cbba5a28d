import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuditLog } from '../audit/index.js';
import { isAppError } from '../core/errors.js';
import { type Db, inTransaction } from '../store/index.js';
import type { Job, JobDetail } from './job.schema.js';
import type { JobKind } from './job-kind.js';
import type { JobQueue, WorkerHandle } from './job-queue.js';

/** A fresh queue over a database, and ways to open more "processes" on the same database and broker. */
export interface JobQueueHarness {
  queue: JobQueue;
  audit: AuditLog;
  /** The database the queue records jobs in (enqueueIn writes in a caller's transaction on it). */
  db: Db;
  /** Another queue on the same database (and Redis prefix): a second replica or worker process. */
  replica(): Promise<JobQueue>;
  dispose?(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls get() until the job is finished (or the deadline passes, which fails the test). */
export async function settled(queue: JobQueue, id: string, timeoutMs = 10_000): Promise<JobDetail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await queue.get(id);
    if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function refusal(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (isAppError(err)) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

/**
 * The promises every JobQueue keeps, written once and run against each implementation on each
 * database (in-process-queue.test.ts, bullmq-queue.test.ts).
 */
export function runJobQueueContract(name: string, makeQueue: () => Promise<JobQueueHarness>): void {
  describe(`JobQueue contract: ${name}`, () => {
    const open: { harness: JobQueueHarness; queues: JobQueue[]; workers: WorkerHandle[] }[] = [];
    let n = 0;
    const fresh = async () => {
      const harness = await makeQueue();
      const entry = { harness, queues: [harness.queue], workers: [] as WorkerHandle[] };
      open.push(entry);
      const unique = `${randomBytes(3).toString('hex')}${++n}`;
      return {
        ...harness,
        /** A kind name no other test uses. */
        named: (base: string) => `${base}.${unique}`,
        work: (q: JobQueue, o?: Parameters<JobQueue['work']>[0]) => {
          const w = q.work(o);
          entry.workers.push(w);
          return w;
        },
        replica: async () => {
          const q = await harness.replica();
          entry.queues.push(q);
          return q;
        },
      };
    };
    afterEach(async () => {
      for (const e of open.splice(0)) {
        await Promise.all(e.workers.map((w) => w.close()));
        for (const q of e.queues) await q.close();
        await e.harness.dispose?.();
      }
    });

    const numbered = z.object({ n: z.number() });
    const noop = (nameOf: string): JobKind<typeof numbered> => ({
      name: nameOf,
      payload: numbered,
      handler: async ({ n }) => ({ n }),
    });

    it('a job runs once and completes, with its result and its attempt logged with the worker', async () => {
      const h = await fresh();
      const calls: number[] = [];
      h.queue.define({
        name: h.named('echo'),
        payload: z.object({ n: z.number().int() }),
        handler: async ({ n }) => {
          calls.push(n);
          return { doubled: n * 2 };
        },
      });
      const queued = await h.queue.enqueue(h.named('echo'), { n: 21 });
      expect(queued.status).toBe('queued');
      const w = h.work(h.queue);
      const done = await settled(h.queue, queued.id);
      expect(done.status).toBe('completed');
      expect(done.result).toEqual({ doubled: 42 });
      expect(done.attempts).toBe(1);
      expect(done.log).toHaveLength(1);
      expect(done.log[0]).toMatchObject({ attempt: 1, status: 'completed', workerId: w.workerId });
      expect(done.log[0]?.endedAt).not.toBeNull();
      expect(calls).toEqual([21]);
    });

    it('a payload that fails its schema is refused naming the field, and nothing is written', async () => {
      const h = await fresh();
      h.queue.define({
        name: h.named('typed'),
        payload: z.object({ user: z.object({ age: z.number() }) }),
        handler: async () => null,
      });
      const err = await refusal(h.queue.enqueue(h.named('typed'), { user: { age: 'old' } }));
      expect(err.code).toBe('VALIDATION_FAILED');
      expect(err.details?.field).toBe('payload.user.age');
      expect((await h.queue.list({ name: h.named('typed') })).jobs).toHaveLength(0);
      const unknown = await refusal(h.queue.enqueue(h.named('nobody'), {}));
      expect(unknown.code).toBe('VALIDATION_FAILED');
      expect(unknown.details?.field).toBe('name');
      const badOption = await refusal(
        h.queue.enqueue(h.named('typed'), { user: { age: 1 } }, { priority: -1 }),
      );
      expect(badOption.details?.field).toBe('options.priority');
      expect((await h.queue.list({ name: h.named('typed') })).jobs).toHaveLength(0);
    });

    it('enqueueIn: the job commits with the transaction it is written in and runs once dispatched; a rollback leaves none', async () => {
      const h = await fresh();
      h.queue.define(noop(h.named('intx')));
      h.work(h.queue);
      const prepared = await inTransaction(h.db, (tx) => h.queue.enqueueIn(tx, h.named('intx'), { n: 7 }));
      await prepared.dispatch();
      expect((await settled(h.queue, prepared.job.id)).result).toEqual({ n: 7 });
      await expect(
        inTransaction(h.db, async (tx) => {
          await h.queue.enqueueIn(tx, h.named('intx'), { n: 8 }, { key: 'rolled-back' });
          throw new Error('the caller changes its mind');
        }),
      ).rejects.toThrow('changes its mind');
      expect((await h.queue.list({ name: h.named('intx') })).jobs.map((j) => j.payload)).toEqual([{ n: 7 }]);
    });

    it('the same idempotency key returns the same job, which runs once', async () => {
      const h = await fresh();
      let runs = 0;
      h.queue.define({
        ...noop(h.named('once')),
        handler: async () => {
          runs++;
          return null;
        },
      });
      const a = await h.queue.enqueue(h.named('once'), { n: 1 }, { key: 'evt_1:subscriber' });
      const b = await h.queue.enqueue(h.named('once'), { n: 2 }, { key: 'evt_1:subscriber' });
      expect(b.id).toBe(a.id);
      expect(b.payload).toEqual({ n: 1 });
      h.work(h.queue);
      await settled(h.queue, a.id);
      const c = await h.queue.enqueue(h.named('once'), { n: 3 }, { key: 'evt_1:subscriber' });
      expect(c.id).toBe(a.id);
      await sleep(200);
      expect(runs).toBe(1);
      expect((await h.queue.list({ name: h.named('once') })).jobs).toHaveLength(1);
    });

    it('a job that keeps failing ends failed with its error after its attempts, never looping', async () => {
      const h = await fresh();
      const at: number[] = [];
      h.queue.define({
        ...noop(h.named('broken')),
        attempts: 3,
        backoffMs: 40,
        handler: async () => {
          at.push(Date.now());
          throw new Error('the disk is full');
        },
      });
      const job = await h.queue.enqueue(h.named('broken'), { n: 1 });
      h.work(h.queue);
      const done = await settled(h.queue, job.id);
      expect(done.status).toBe('failed');
      expect(done.error).toContain('the disk is full');
      expect(done.attempts).toBe(3);
      expect(done.log.map((a) => a.status)).toEqual(['failed', 'failed', 'failed']);
      await sleep(300);
      expect(at).toHaveLength(3);
      // Exponential backoff: 40 ms, then 80 ms (timers may only be late).
      expect((at[1] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(35);
      expect((at[2] ?? 0) - (at[1] ?? 0)).toBeGreaterThanOrEqual(75);
    });

    it('a job that fails once is retried and completes', async () => {
      const h = await fresh();
      let calls = 0;
      h.queue.define({
        ...noop(h.named('flaky')),
        backoffMs: 10,
        handler: async (_p, ctx) => {
          calls++;
          if (ctx.attempt === 1) throw new Error('try again');
          return { attempt: ctx.attempt };
        },
      });
      const job = await h.queue.enqueue(h.named('flaky'), { n: 1 });
      h.work(h.queue);
      const done = await settled(h.queue, job.id);
      expect(done.status).toBe('completed');
      expect(done.result).toEqual({ attempt: 2 });
      expect(done.log.map((a) => [a.attempt, a.status])).toEqual([
        [1, 'failed'],
        [2, 'completed'],
      ]);
      expect(calls).toBe(2);
    });

    it('an attempt past its timeout is aborted and counts as a failed attempt', async () => {
      const h = await fresh();
      let sawAbort = false;
      h.queue.define({
        ...noop(h.named('slow')),
        attempts: 1,
        timeoutMs: 150,
        handler: (_p, ctx) =>
          new Promise((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              sawAbort = true;
              resolve(null);
            });
          }),
      });
      const job = await h.queue.enqueue(h.named('slow'), { n: 1 });
      h.work(h.queue);
      const done = await settled(h.queue, job.id);
      expect(done.status).toBe('failed');
      expect(done.error).toMatch(/timed out after 150 ms/);
      expect(sawAbort).toBe(true);
    });

    it('progress reported by a running handler is visible', async () => {
      const h = await fresh();
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      h.queue.define({
        ...noop(h.named('steps')),
        handler: async (_p, ctx) => {
          await ctx.progress({ done: 3, of: 10 });
          await gate;
          return null;
        },
      });
      const job = await h.queue.enqueue(h.named('steps'), { n: 1 });
      h.work(h.queue);
      await until(async () => (await h.queue.get(job.id)).progress !== null, 10_000, 'progress');
      const mid = await h.queue.get(job.id);
      expect(mid.status).toBe('running');
      expect(mid.progress).toEqual({ done: 3, of: 10 });
      release();
      expect((await settled(h.queue, job.id)).status).toBe('completed');
    });

    it('cancel: a delayed job never runs, a running handler sees its signal abort, a finished job refuses; each is audited', async () => {
      const h = await fresh();
      const started: string[] = [];
      let aborted = false;
      h.queue.define({
        ...noop(h.named('cancellable')),
        handler: (_p, ctx) => {
          started.push(ctx.jobId);
          return new Promise((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = true;
              resolve(null);
            });
          });
        },
      });
      const later = await h.queue.enqueue(h.named('cancellable'), { n: 1 }, { delayMs: 400 });
      const now = await h.queue.enqueue(h.named('cancellable'), { n: 2 });
      expect((await h.queue.cancel({ actor: 'alice', id: later.id })).status).toBe('cancelled');
      h.work(h.queue, { concurrency: 2 });
      await until(() => started.includes(now.id), 10_000, 'the running job');
      const c = await h.queue.cancel({ actor: 'bob', id: now.id });
      expect(c).toMatchObject({ status: 'cancelled', cancelledBy: 'bob' });
      await until(() => aborted, 10_000, 'the abort signal');
      await sleep(600);
      expect(started).toEqual([now.id]);
      const after = await h.queue.get(now.id);
      expect(after.status).toBe('cancelled');
      expect(after.log.map((a) => a.status)).toEqual(['cancelled']);
      const again = await refusal(h.queue.cancel({ actor: 'bob', id: now.id }));
      expect(again.code).toBe('INVALID_TRANSITION');
      const entries = await h.audit.list({ entityType: 'job', entityId: now.id });
      expect(entries.map((e) => [e.action, e.actor])).toEqual([['job.cancel', 'bob']]);
      expect(await h.audit.list({ entityType: 'job', entityId: later.id })).toHaveLength(1);
      expect((await refusal(h.queue.get('job_00000000000000000000000000'))).code).toBe('NOT_FOUND');
    });

    it('jobs without a priority run first, then lower priority numbers', async () => {
      const h = await fresh();
      const order: number[] = [];
      h.queue.define({
        ...noop(h.named('ranked')),
        handler: async ({ n }: { n: number }) => {
          order.push(n);
          return null;
        },
      });
      const ids = [];
      for (const [n, priority] of [
        [5, 5],
        [1, 1],
        [3, 3],
        [0, undefined],
      ] as const)
        ids.push((await h.queue.enqueue(h.named('ranked'), { n }, priority ? { priority } : {})).id);
      h.work(h.queue, { concurrency: 1 });
      for (const id of ids) await settled(h.queue, id);
      expect(order).toEqual([0, 1, 3, 5]);
    });

    it('a delayed job does not start before its delay', async () => {
      const h = await fresh();
      let startedAt = 0;
      h.queue.define({
        ...noop(h.named('delayed')),
        handler: async () => {
          startedAt = Date.now();
          return null;
        },
      });
      const t0 = Date.now();
      const job = await h.queue.enqueue(h.named('delayed'), { n: 1 }, { delayMs: 300 });
      h.work(h.queue);
      await settled(h.queue, job.id);
      expect(startedAt - t0).toBeGreaterThanOrEqual(290);
    });

    it('a worker takes only its queues, and only jobs whose tags it has', async () => {
      const h = await fresh();
      const ran: string[] = [];
      const record = async (_p: unknown, ctx: { jobId: string }) => {
        ran.push(ctx.jobId);
        return null;
      };
      h.queue.define({ ...noop(h.named('gpu')), queue: 'train', tags: ['gpu'], handler: record });
      h.queue.define({ ...noop(h.named('cpu')), queue: 'train', handler: record });
      h.queue.define({ ...noop(h.named('other')), queue: 'reports', handler: record });
      const gpu = await h.queue.enqueue(h.named('gpu'), { n: 1 });
      const cpu = await h.queue.enqueue(h.named('cpu'), { n: 1 });
      const other = await h.queue.enqueue(h.named('other'), { n: 1 });
      h.work(h.queue, { queues: ['train'] });
      await settled(h.queue, cpu.id);
      await sleep(300);
      expect(ran).toEqual([cpu.id]);
      h.work(h.queue, { queues: ['train'], tags: ['gpu', 'big-memory'] });
      expect((await settled(h.queue, gpu.id)).status).toBe('completed');
      expect((await h.queue.get(other.id)).status).toBe('queued');
    });

    it('effects commit once: a second commit of the same job is refused and writes nothing', async () => {
      const h = await fresh();
      let second: unknown;
      h.queue.define({
        ...noop(h.named('effects')),
        handler: async (_p, ctx) => {
          expect(ctx.committed).toBe(false);
          await ctx.commit((tx) =>
            h.audit.append(tx, { actor: 'job', action: 'effect', entityType: 'effect', entityId: ctx.jobId }),
          );
          expect(ctx.committed).toBe(true);
          second = await ctx
            .commit((tx) =>
              h.audit.append(tx, {
                actor: 'job',
                action: 'effect',
                entityType: 'effect',
                entityId: ctx.jobId,
              }),
            )
            .catch((e: unknown) => e);
          return null;
        },
      });
      const job = await h.queue.enqueue(h.named('effects'), { n: 1 });
      h.work(h.queue);
      const done = await settled(h.queue, job.id);
      expect(done.status).toBe('completed');
      expect(done.committedAt).not.toBeNull();
      expect(isAppError(second) && second.code).toBe('CONFLICT');
      expect(await h.audit.list({ entityType: 'effect', entityId: job.id })).toHaveLength(1);
    });

    it('two workers in two processes run each of 200 jobs exactly once', async () => {
      const h = await fresh();
      const other = await h.replica();
      const runs = new Map<number, number>();
      const workersSeen = new Set<string>();
      for (const q of [h.queue, other]) {
        q.define({
          ...noop(h.named('many')),
          handler: async ({ n }: { n: number }) => {
            runs.set(n, (runs.get(n) ?? 0) + 1);
            return null;
          },
        });
      }
      const jobs: Job[] = [];
      for (let i = 0; i < 200; i++) jobs.push(await h.queue.enqueue(h.named('many'), { n: i }));
      const a = h.work(h.queue, { concurrency: 4 });
      const b = h.work(other, { concurrency: 4 });
      await until(
        async () =>
          (await h.queue.list({ name: h.named('many'), status: 'completed', limit: 1000 })).jobs.length ===
          200,
        30_000,
        '200 jobs',
      );
      await sleep(200);
      expect(runs.size).toBe(200);
      expect([...runs.values()].every((c) => c === 1)).toBe(true);
      for (const j of jobs.slice(0, 50)) {
        const d = await h.queue.get(j.id);
        expect(d.log).toHaveLength(1);
        workersSeen.add(d.log[0]?.workerId ?? '');
      }
      expect([...workersSeen].every((w) => w === a.workerId || w === b.workerId)).toBe(true);
    });

    it('a repeat schedule fires once per tick across two processes working it', async () => {
      const h = await fresh();
      const other = await h.replica();
      const key = h.named('tick');
      const runs: string[] = [];
      for (const q of [h.queue, other])
        q.define({
          ...noop(h.named('tick')),
          handler: async (_p, ctx) => {
            runs.push(ctx.jobId);
            return null;
          },
        });
      await h.queue.repeat(h.named('tick'), { n: 1 }, { everyMs: 250, key });
      const t0 = Date.now();
      h.work(h.queue);
      h.work(other);
      await sleep(1_400);
      await h.queue.unrepeat(key);
      const elapsed = Date.now() - t0;
      await sleep(300);
      const jobs = (await h.queue.list({ name: h.named('tick'), limit: 100 })).jobs;
      expect(jobs.length).toBeGreaterThanOrEqual(3);
      expect(jobs.length).toBeLessThanOrEqual(Math.floor(elapsed / 250) + 1);
      expect(new Set(jobs.map((j) => j.key)).size).toBe(jobs.length);
      expect(jobs.every((j) => j.scheduleKey === key)).toBe(true);
      // Each tick's job ran once.
      expect(new Set(runs).size).toBe(runs.length);
      const err = await refusal(h.queue.repeat(h.named('tick'), { n: 1 }, { cron: 'every tuesday', key }));
      expect(err.details?.field).toBe('options.cron');
    });

    it('list filters by status, name and queue, newest first, in keyset pages', async () => {
      const h = await fresh();
      h.queue.define({ ...noop(h.named('listed')), queue: 'listing' });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await h.queue.enqueue(h.named('listed'), { n: i })).id);
      await h.queue.cancel({ actor: 'alice', id: ids[0] as string });
      const first = await h.queue.list({ name: h.named('listed'), limit: 2 });
      expect(first.jobs.map((j) => j.id)).toEqual([ids[4], ids[3]]);
      const second = await h.queue.list({
        name: h.named('listed'),
        limit: 2,
        pageToken: first.nextPageToken,
      });
      expect(second.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
      const third = await h.queue.list({
        name: h.named('listed'),
        limit: 2,
        pageToken: second.nextPageToken,
      });
      expect(third.jobs.map((j) => j.id)).toEqual([ids[0]]);
      expect(third.nextPageToken).toBeUndefined();
      expect(
        (await h.queue.list({ name: h.named('listed'), status: 'cancelled' })).jobs.map((j) => j.id),
      ).toEqual([ids[0]]);
      expect(
        (await h.queue.list({ queue: 'listing', status: 'queued', limit: 100 })).jobs.length,
      ).toBeGreaterThanOrEqual(4);
      const bad = await refusal(h.queue.list({ status: 'sleeping' as never }));
      expect(bad.details?.field).toBe('query.status');
    });
  });
}
