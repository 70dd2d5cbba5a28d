import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { createAuditLog } from '../src/audit/index.js';
import { systemClock } from '../src/core/clock.js';
import { type AttemptEvent, createBullmqJobQueue, type JobQueue } from '../src/jobs/index.js';
import { openStore, type Store } from '../src/store/index.js';
import { reachable } from '../test/support/services.js';
import {
  createPostgresDatabase,
  fmtMs,
  fmtRatio,
  intEnv,
  median,
  nowMs,
  percentile,
  printTable,
  progress,
  runCleanups,
  tempDir,
} from './support.js';

/*
 * Jobs benchmark (npx tsx bench/jobs.bench.ts). Prints tables and ratios; asserts nothing.
 * The seam (createBullmqJobQueue: a database row per job and attempt, BullMQ dispatch) against a bare
 * BullMQ add/process/complete loop on the same Redis with the same payloads, side by side:
 *   1. round trip: enqueue -> start -> complete, one job at a time (BENCH_JOBS_ROUND_TRIPS, 200);
 *   2. throughput: 1,000 no-op jobs over 2 workers (BENCH_JOBS_BULK, 1000), enqueued then drained.
 * The seam runs on a SQLite file (synchronous=FULL: each commit is an fsync) and, when reachable,
 * on PostgreSQL. Target: the seam at most 2x bare BullMQ.
 */

const ROUND_TRIPS = intEnv('BENCH_JOBS_ROUND_TRIPS', 200);
const BULK = intEnv('BENCH_JOBS_BULK', 1000);
const REDIS_URL = process.env.SEXTANT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const payload = (n: number) => ({ n, note: `job ${n}`, pad: 'x'.repeat(100) });
const payloadSchema = z.object({ n: z.number(), note: z.string(), pad: z.string() });

/** Something that takes jobs and tells when each completed: the seam or bare BullMQ. */
interface Contender {
  add(n: number): Promise<string>;
  /** Starts `workers` workers; calls done(id) when a job completes. */
  work(workers: number, done: (id: string) => void): Promise<void>;
  close(): Promise<void>;
}

function bare(prefix: string): Contender {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('bench', { connection, prefix });
  const workers: Worker[] = [];
  let seq = 0;
  return {
    add: async (n) =>
      (await queue.add('noop', payload(n), { jobId: `b${++seq}`, removeOnComplete: true })).id as string,
    work: async (count, done) => {
      for (let i = 0; i < count; i++) {
        const w = new Worker('bench', async () => null, {
          connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
          prefix,
          concurrency: 4,
        });
        w.on('completed', (job) => done(job.id as string));
        workers.push(w);
      }
      await new Promise((r) => setTimeout(r, 300));
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await queue.close();
      connection.disconnect();
    },
  };
}

function seam(store: Store, prefix: string): Contender {
  const audit = createAuditLog({
    db: store.db,
    dialect: store.dialect,
    clock: systemClock,
    key: 'bench-audit-key-0123456789',
  });
  const make = (): JobQueue => {
    const q = createBullmqJobQueue(
      { db: store.db, dialect: store.dialect, audit, clock: systemClock },
      { url: REDIS_URL, prefix },
    );
    q.define({ name: 'noop', payload: payloadSchema, handler: async () => null });
    return q;
  };
  const producer = make();
  const consumers: JobQueue[] = [];
  return {
    add: async (n) => (await producer.enqueue('noop', payload(n))).id,
    work: async (count, done) => {
      for (let i = 0; i < count; i++) {
        const q = make();
        consumers.push(q);
        q.work({
          concurrency: 4,
          onAttempt: (e: AttemptEvent) => {
            if (e.status === 'completed') done(e.jobId);
          },
        });
      }
      // Both sides give their workers the same moment to connect.
      await new Promise((r) => setTimeout(r, 300));
    },
    close: async () => {
      for (const q of consumers) await q.close();
      await producer.close();
    },
  };
}

/** One job at a time: enqueue, wait for its completion; returns per-job ms. */
async function roundTrips(c: Contender, count: number): Promise<number[]> {
  let waiting: { id: string; resolve: () => void } | undefined;
  const early = new Set<string>();
  await c.work(1, (id) => {
    if (waiting?.id === id) waiting.resolve();
    else early.add(id);
  });
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = nowMs();
    const id = await c.add(i);
    if (!early.delete(id))
      await new Promise<void>((resolve) => {
        waiting = { id, resolve };
      });
    times.push(nowMs() - t0);
  }
  await c.close();
  return times;
}

/** `count` jobs enqueued, then drained by 2 workers; returns ms from the first add to the last completion. */
async function bulk(c: Contender, count: number): Promise<{ enqueueMs: number; totalMs: number }> {
  let completed = 0;
  let finish: () => void = () => {};
  const all = new Promise<void>((r) => {
    finish = r;
  });
  const t0 = nowMs();
  for (let i = 0; i < count; i++) await c.add(i);
  const enqueueMs = nowMs() - t0;
  await c.work(2, () => {
    if (++completed === count) finish();
  });
  await all;
  const totalMs = nowMs() - t0;
  await c.close();
  return { enqueueMs, totalMs };
}

async function main(): Promise<void> {
  if (!(await reachable(REDIS_URL, 6379))) {
    console.log(`SKIPPED: Redis is not reachable at ${REDIS_URL}`);
    return;
  }
  const stores: [string, Store][] = [
    ['sqlite', await openStore(`sqlite:${tempDir('sextant-bench-jobs-')}/bench.db`)],
  ];
  const pgDb = await createPostgresDatabase();
  if ('url' in pgDb) stores.push(['postgres', await openStore(pgDb.url)]);
  else console.log(`PostgreSQL part skipped: ${pgDb.skipped}`);
  const prefix = () => `sextant-bench-${randomBytes(4).toString('hex')}`;

  progress(`round trips: ${ROUND_TRIPS} jobs, one at a time`);
  const bareTrips = await roundTrips(bare(prefix()), ROUND_TRIPS);
  const rows: string[][] = [
    ['bare BullMQ', fmtMs(median(bareTrips)), fmtMs(percentile(bareTrips, 95)), '1.00x'],
  ];
  for (const [name, store] of stores) {
    const t = await roundTrips(seam(store, prefix()), ROUND_TRIPS);
    rows.push([
      `seam (${name})`,
      fmtMs(median(t)),
      fmtMs(percentile(t, 95)),
      fmtRatio(median(t) / median(bareTrips)),
    ]);
  }
  console.log('\nenqueue -> start -> complete, one job at a time');
  printTable(['', 'median', 'p95', 'median vs bare'], rows);

  progress(`throughput: ${BULK} no-op jobs over 2 workers`);
  const b = await bulk(bare(prefix()), BULK);
  const bulkRows: string[][] = [
    [
      'bare BullMQ',
      fmtMs(b.enqueueMs),
      fmtMs(b.totalMs),
      String(Math.round((BULK / b.totalMs) * 1000)),
      '1.00x',
    ],
  ];
  for (const [name, store] of stores) {
    const s = await bulk(seam(store, prefix()), BULK);
    bulkRows.push([
      `seam (${name})`,
      fmtMs(s.enqueueMs),
      fmtMs(s.totalMs),
      String(Math.round((BULK / s.totalMs) * 1000)),
      fmtRatio(s.totalMs / b.totalMs),
    ]);
  }
  console.log(`\n${BULK} no-op jobs, enqueued then run by 2 workers (concurrency 4 each)`);
  printTable(['', 'enqueue all', 'total', 'jobs/s', 'total vs bare'], bulkRows);
  console.log('\nTarget: the seam at most 2.00x bare BullMQ. Timings on a shared machine are noisy.');
  for (const [, store] of stores) await store.close();
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
