import type { Job as BullJob, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../core/clock.js';
import { assertNever, isAppError, UnavailableError } from '../core/errors.js';
import { lazyRequire } from '../core/lazy-require.js';
import { type Db, type Dialect, inTransaction } from '../store/index.js';
import { HOLD_RECHECK_MS, type JobAdmission } from './admission.js';
import { attemptRow, runAttempt } from './attempt-runner.js';
import * as repo from './job.repo.js';
import { laneOf, lanesFor } from './job-kind.js';
import type { JobQueue, RepeatOptions, WorkerHandle, WorkOptions } from './job-queue.js';
import { createJobRecords, queueDepth, toJob } from './job-records.js';
import { nextTick, parseCadence } from './schedule.js';
import { newWorkerId } from './worker-id.js';

export interface BullmqQueueOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Key prefix in Redis (default 'sextant'); tests give each run its own. */
  prefix?: string;
  /** BullMQ's lock: a job whose worker stops renewing it is stalled and runs again elsewhere (default 30 s). */
  lockMs?: number;
  /** How often workers look for stalled jobs (default 30 s). */
  stalledIntervalMs?: number;
  /** How long enqueue waits for Redis before answering 503 (default 5 s). */
  enqueueTimeoutMs?: number;
  /** How long a held job waits before it is looked at again (default HOLD_RECHECK_MS). */
  holdRecheckMs?: number;
}

export interface BullmqQueueDeps {
  db: Db;
  dialect: Dialect;
  audit: AuditLog;
  clock: Clock;
  /** Whether a job may be enqueued, and started (default: admit everything). */
  admission?: JobAdmission;
}

/** What a BullMQ job carries: the id of its database row, or (made by a job scheduler) the schedule. */
type Carried = { id: string } | { schedule: { key: string; name: string; payload: unknown } };

/**
 * BullMQ on Redis dispatches; the database keeps the record. Enqueue commits the row, then adds the
 * BullMQ job: if Redis refuses, the row is deleted again and the caller gets a 503. A process that
 * dies between the two leaves a queued row with no BullMQ job; every worker re-dispatches such rows
 * of its lanes when it starts (adding is idempotent by job id). A BullMQ job whose row is missing or
 * finished is skipped. Redis restarted without its data loses every BullMQ job: each worker
 * re-dispatches when its connection comes back (queued rows, and running ones whose lease ran out),
 * so queued steps survive and running ones are retried.
 * Priority, retries with backoff, stalled-job recovery and schedule ticks are BullMQ's; the attempt
 * itself (timeout, heartbeats, commit-once) runs as in the in-process queue.
 */
// Loaded with the first Redis-backed queue: a workspace without SEXTANT_REDIS_URL never loads them.
const bullmq = lazyRequire<typeof import('bullmq')>('bullmq');
const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');

export function createBullmqJobQueue(deps: BullmqQueueDeps, options: BullmqQueueOptions): JobQueue {
  const { db, clock } = deps;
  const prefix = options.prefix ?? 'sextant';
  const defaultLockMs = options.lockMs ?? 30_000;
  const enqueueTimeoutMs = options.enqueueTimeoutMs ?? 5_000;
  const records = createJobRecords(deps);
  const holdRecheckMs = options.holdRecheckMs ?? HOLD_RECHECK_MS;
  // Enqueue must fail fast while Redis is away, not wait in ioredis' offline queue.
  const producer = new (ioredis().Redis)(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  });
  producer.on('error', () => {});
  const queues = new Map<string, Queue>();
  const workers = new Set<WorkerHandle & { slots: number; busy(): number }>();

  function queueFor(lane: string): Queue {
    let q = queues.get(lane);
    if (!q) {
      q = new (bullmq().Queue)(lane, { connection: producer, prefix });
      q.on('error', () => {});
      queues.set(lane, q);
    }
    return q;
  }

  async function withRedis<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      if (producer.status === 'wait') await producer.connect().catch(() => {});
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer in ${enqueueTimeoutMs} ms`)),
            enqueueTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      if (isAppError(err)) throw err;
      throw new UnavailableError(
        `the job queue (Redis) is unavailable: ${what} failed (${(err as Error).message})`,
        {
          service: 'redis',
        },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  const bullOptions = (row: repo.JobRow, delay: number) => ({
    jobId: row.id,
    ...(row.priority > 0 ? { priority: row.priority } : {}),
    ...(delay > 0 ? { delay } : {}),
    attempts: row.max_attempts,
    backoff: { type: 'exponential', delay: row.backoff_ms },
    // The database keeps the record; Redis only dispatches.
    removeOnComplete: true,
    removeOnFail: true,
  });

  /** The row of a BullMQ job; a scheduler-made job gets its row on first sight (one per tick). */
  async function rowIdOf(job: BullJob<Carried>): Promise<string | undefined> {
    const data = job.data;
    if ('id' in data) return data.id;
    const { values } = records.prepare(
      data.schedule.name,
      data.schedule.payload,
      { key: `schedule:${job.id}` },
      data.schedule.key,
    );
    return (await records.insert(db, values)).row.id;
  }

  /*
   * A BullMQ job whose row is not there: its enqueue failed and took the row back, or (a schedule
   * tick) another process is writing it. It waits a moment for the row; one still missing after the
   * enqueue timeout (and a margin) is dropped.
   */
  async function committedRow(id: string): Promise<boolean> {
    const deadline = Date.now() + enqueueTimeoutMs * 2 + 1_000;
    for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
      if (await repo.findJob({ tx: db, id })) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /**
   * Adds the BullMQ job of every queued row of these lanes whose enqueuer died between committing the
   * row and adding the job, or whose job Redis lost, and of every running row whose lease ran out.
   * Only rows older than any enqueue still in flight; a row that has its job already is left alone
   * (BullMQ ignores an add whose job id exists).
   */
  async function redispatch(lanes: string[]): Promise<number> {
    const now = clock.now();
    const rows = await repo.listUndispatched({
      tx: db,
      lanes,
      before: now - enqueueTimeoutMs * 2,
      now,
      limit: 10_000,
    });
    for (const row of rows)
      await queueFor(row.lane).add(row.name, { id: row.id }, bullOptions(row, Math.max(0, row.run_at - now)));
    return rows.length;
  }

  function startWorker(o: WorkOptions): WorkerHandle {
    const workerId = newWorkerId();
    const lockMs = o.leaseMs ?? defaultLockMs;
    let pass = 0;
    let busy = 0;
    let idleSince: number | null = clock.now();
    const connections: Redis[] = [];
    const processor = async (job: BullJob<Carried>, token?: string) => {
      // Checked before the claim: a process that cannot run the kind leaves the row untouched.
      const kind = records.kinds.get(job.name);
      if (!kind) throw new Error(`no worker here knows '${job.name}'`);
      const id = await rowIdOf(job);
      if (!id) return;
      const owner = `${workerId}:${++pass}`;
      const held = await records.admission.holds();
      const now = clock.now();
      const claim = () =>
        inTransaction(db, async (tx) => {
          const row = await repo.claimOne({ tx, id, owner, now, leaseUntil: now + lockMs });
          if (row) await repo.startAttempts({ tx, now, attempts: [attemptRow(row, workerId, now)] });
          return row;
        });
      let row = await claim();
      // Not taken: the row is not committed yet (wait for it, then try once more), or is finished.
      if (!row && (await committedRow(id))) row = await claim();
      if (!row) return;
      const reason = row.scope === null ? null : held(JSON.parse(row.scope));
      if (reason !== null) {
        // Held, not failed: the row goes back to queued with its reason, the BullMQ job to delayed.
        const runAt = now + holdRecheckMs;
        await inTransaction(db, (tx) =>
          repo.holdClaimed({ tx, id: row.id, owner, attempt: row.attempts, reason, runAt, now }),
        );
        await job.moveToDelayed(runAt, token);
        throw new (bullmq().DelayedError)();
      }
      busy++;
      idleSince = null;
      const outcome = await runAttempt({ db, clock, leaseMs: lockMs }, kind, row, owner).finally(() => {
        if (--busy === 0) idleSince = clock.now();
      });
      o.onAttempt?.({ jobId: row.id, name: row.name, attempt: row.attempts, status: outcome.status });
      switch (outcome.status) {
        case 'completed':
        case 'cancelled':
        case 'lost':
          return;
        case 'retry':
          throw new Error(outcome.error);
        case 'failed':
          throw new (bullmq().UnrecoverableError)(outcome.error);
        default:
          return assertNever(outcome);
      }
    };
    const bullWorkers = lanesFor(o.queues ?? ['default'], o.tags ?? []).map((lane) => {
      const connection = new (ioredis().Redis)(options.url, { maxRetriesPerRequest: null });
      connection.on('error', () => {});
      connections.push(connection);
      const { Worker } = bullmq();
      const w = new Worker<Carried>(lane, processor, {
        connection,
        prefix,
        concurrency: o.concurrency ?? 1,
        lockDuration: lockMs,
        stalledInterval: o.leaseMs ?? options.stalledIntervalMs ?? 30_000,
        maxStalledCount: 3,
      });
      // Connection errors are retried by ioredis; a worker resumes when Redis returns.
      w.on('error', () => {});
      // BullMQ gives up on a job that stalled too often without running our processor: the row
      // must not stay 'running' for ever.
      w.on('failed', (job, err) => {
        if (!job || !err || !/stalled/i.test(err.message)) return;
        const id = 'id' in job.data ? job.data.id : undefined;
        if (id)
          void repo.failUnfinished({ tx: db, id, error: err.message, now: clock.now() }).catch(() => {});
      });
      return w;
    });
    const lanes = lanesFor(o.queues ?? ['default'], o.tags ?? []);
    void redispatch(lanes).catch(() => {});
    /*
     * A reconnect may follow a Redis that came back empty: re-dispatch at once, and again once the
     * rows whose dispatch failed while it was away are past the in-flight window and the leases of
     * attempts lost with it have run out.
     */
    const timers = new Set<NodeJS.Timeout>();
    let reconnectPending = false;
    const onReconnect = () => {
      if (reconnectPending) return;
      reconnectPending = true;
      void redispatch(lanes).catch(() => {});
      const t = setTimeout(
        () => {
          timers.delete(t);
          reconnectPending = false;
          void redispatch(lanes).catch(() => {});
        },
        enqueueTimeoutMs * 2 + lockMs + 1_000,
      );
      t.unref();
      timers.add(t);
    };
    for (const c of connections) {
      let connected = false;
      c.on('ready', () => {
        if (connected) onReconnect();
        connected = true;
      });
    }
    const handle = {
      workerId,
      slots: (o.concurrency ?? 1) * bullWorkers.length,
      busy: () => busy,
      idleSince: () => idleSince,
      async close() {
        for (const t of timers) clearTimeout(t);
        await Promise.all(bullWorkers.map((w) => w.close()));
        for (const c of connections) c.disconnect();
        workers.delete(handle);
      },
    };
    workers.add(handle);
    return handle;
  }

  return {
    kind: 'bullmq',
    define: records.define,
    async enqueue(name, payload, enqueueOptions) {
      const { values, options: o } = await records.prepareAdmitted(name, payload, enqueueOptions);
      const { row, created } = await records.insert(db, values);
      // Dispatched once the row is committed, so a worker that takes it at once finds the row. If
      // Redis refuses, the row (queued, never dispatched, never seen by a worker) is taken back.
      if (created)
        await withRedis('enqueue', () =>
          queueFor(row.lane).add(row.name, { id: row.id }, bullOptions(row, o.delayMs ?? 0)),
        ).catch(async (err: unknown) => {
          await repo.deleteUndispatched({ tx: db, id: row.id });
          throw err;
        });
      return toJob(row);
    },
    async enqueueIn(tx, name, payload, enqueueOptions) {
      const { values, options: o } = records.prepare(name, payload, enqueueOptions);
      const { row, created } = await records.insert(tx, values);
      return {
        job: toJob(row),
        // The row is committed by now: a failed add leaves it queued, and workers re-dispatch it.
        dispatch: async () => {
          if (created)
            await withRedis('enqueue', () =>
              queueFor(row.lane).add(row.name, { id: row.id }, bullOptions(row, o.delayMs ?? 0)),
            );
        },
      };
    },
    async repeat(name, payload, repeatOptions: RepeatOptions) {
      const cadence = parseCadence(repeatOptions);
      const { kind, values } = records.prepare(name, payload, {}, repeatOptions.key);
      const now = clock.now();
      await inTransaction(db, async (tx) => {
        await repo.upsertSchedule({
          tx,
          values: {
            key: repeatOptions.key,
            name,
            payload: values.payload,
            cron: 'cron' in cadence ? cadence.cron : null,
            every_ms: 'everyMs' in cadence ? cadence.everyMs : null,
            next_run_at: nextTick(cadence, now),
            created_at: now,
            updated_at: now,
          },
        });
        await withRedis('repeat', () =>
          queueFor(values.lane).upsertJobScheduler(
            repeatOptions.key,
            'cron' in cadence ? { pattern: cadence.cron, tz: 'UTC' } : { every: cadence.everyMs },
            {
              name,
              data: { schedule: { key: repeatOptions.key, name, payload: JSON.parse(values.payload) } },
              opts: {
                attempts: kind.attempts,
                backoff: { type: 'exponential', delay: kind.backoffMs },
                removeOnComplete: true,
                removeOnFail: true,
              },
            },
          ),
        );
      });
    },
    async unrepeat(key) {
      const schedule = await repo.findSchedule({ tx: db, key });
      if (!schedule) return false;
      const kind = records.kinds.get(schedule.name);
      return inTransaction(db, async (tx) => {
        const removed = await repo.deleteSchedule({ tx, key });
        if (kind)
          await withRedis('unrepeat', () => queueFor(laneOf(kind.queue, kind.tags)).removeJobScheduler(key));
        return removed;
      });
    },
    get: records.get,
    list: records.list,
    workers: () => records.workers(),
    async cancel(input) {
      const { before, job } = await records.cancel(input);
      // A waiting job leaves Redis now; a running one sees its signal abort at its next heartbeat.
      // If Redis is away the BullMQ job stays, and is skipped when it comes up: its row is cancelled.
      await queueFor(before.lane)
        .remove(before.id)
        .catch(() => 0);
      return job;
    },
    work: (o = {}) => startWorker(o),
    depth: () => queueDepth(db),
    load() {
      let slots = 0;
      let busy = 0;
      for (const w of workers) {
        slots += w.slots;
        busy += w.busy();
      }
      return { slots, busy };
    },
    async close() {
      await Promise.all([...workers].map((w) => w.close()));
      await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})));
      producer.disconnect();
    },
  };
}
