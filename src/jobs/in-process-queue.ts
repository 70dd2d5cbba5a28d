import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../core/clock.js';
import { type Db, type Dialect, inTransaction } from '../store/index.js';
import { HOLD_RECHECK_MS, type JobAdmission } from './admission.js';
import { type AttemptOutcome, attemptRow, runAttempt } from './attempt-runner.js';
import * as repo from './job.repo.js';
import { lanesFor } from './job-kind.js';
import type { JobQueue, RepeatOptions, WorkerHandle, WorkOptions } from './job-queue.js';
import { createJobRecords, queueDepth, toJob } from './job-records.js';
import { nextTick, parseCadence } from './schedule.js';
import { newWorkerId } from './worker-id.js';

export interface InProcessQueueOptions {
  /** How often an idle worker looks for due jobs and schedule ticks (default 500 ms). */
  pollMs?: number;
  /** How long a claim holds without a heartbeat; a dead worker's job is retried after it (default 30 s). */
  leaseMs?: number;
  /** How long a held job waits before it is looked at again (default HOLD_RECHECK_MS). */
  holdRecheckMs?: number;
}

export interface InProcessQueueDeps {
  db: Db;
  dialect: Dialect;
  audit: AuditLog;
  clock: Clock;
  /** Whether a job may be enqueued, and started (default: admit everything). */
  admission?: JobAdmission;
}

/**
 * The laptop default: the database is the queue. Any number of processes sharing the database (one
 * SQLite file, or PostgreSQL) may work it: a job is claimed by a conditional UPDATE with a lease, and
 * a job whose worker died is claimed again once the lease has expired. A schedule tick is taken by
 * one conditional UPDATE too, so it makes one job however many processes work.
 */
export function createInProcessJobQueue(
  deps: InProcessQueueDeps,
  options: InProcessQueueOptions = {},
): JobQueue {
  const { db, dialect, clock } = deps;
  const pollMs = options.pollMs ?? 500;
  const defaultLeaseMs = options.leaseMs ?? 30_000;
  const holdRecheckMs = options.holdRecheckMs ?? HOLD_RECHECK_MS;
  const records = createJobRecords(deps);
  const workers = new Set<ReturnType<typeof startWorker>>();

  /** Makes the job of each due tick; the process whose UPDATE moves the schedule on makes it. */
  async function fireSchedules(): Promise<void> {
    const now = clock.now();
    for (const s of await repo.dueSchedules({ tx: db, now })) {
      if (!records.kinds.has(s.name)) continue;
      const cadence = s.cron !== null ? { cron: s.cron } : { everyMs: Number(s.every_ms) };
      const { values } = records.prepare(
        s.name,
        JSON.parse(s.payload),
        { key: `schedule:${s.key}:${s.next_run_at}` },
        s.key,
      );
      await inTransaction(db, async (tx) => {
        if (
          !(await repo.advanceSchedule({
            tx,
            key: s.key,
            from: s.next_run_at,
            to: nextTick(cadence, now),
            now,
          }))
        )
          return;
        await records.insert(tx, values);
      });
    }
  }

  function startWorker(o: WorkOptions) {
    const concurrency = o.concurrency ?? 1;
    const lanes = lanesFor(o.queues ?? ['default'], o.tags ?? []);
    const workerId = newWorkerId();
    const leaseMs = o.leaseMs ?? defaultLeaseMs;
    const running = new Set<Promise<AttemptOutcome>>();
    let pass = 0;
    let closed = false;
    let idleSince: number | null = clock.now();
    let wake: () => void = () => {};

    async function claimAndRun(): Promise<number> {
      const free = concurrency - running.size;
      if (free <= 0) return 0;
      const owner = `${workerId}:${++pass}`;
      // Read before the transaction: the port may query the database (one connection on SQLite).
      const held = await records.admission.holds();
      const now = clock.now();
      const rows = await inTransaction(db, async (tx) => {
        const taken = await repo.claimDue({
          tx,
          dialect,
          owner,
          now,
          leaseUntil: now + leaseMs,
          lanes,
          names: [...records.kinds.keys()],
          limit: free,
        });
        const claimed: typeof taken = [];
        for (const row of taken) {
          const reason = row.scope === null ? null : held(JSON.parse(row.scope));
          if (reason === null) claimed.push(row);
          else
            await repo.holdClaimed({
              tx,
              id: row.id,
              owner,
              attempt: row.attempts,
              reason,
              runAt: now + holdRecheckMs,
              now,
            });
        }
        await repo.startAttempts({ tx, now, attempts: claimed.map((r) => attemptRow(r, workerId, now)) });
        return claimed;
      });
      for (const row of rows) {
        const kind = records.kinds.get(row.name);
        const attempt = kind
          ? runAttempt({ db, clock, leaseMs }, kind, row, owner)
          : Promise.reject(new Error(`no kind '${row.name}'`));
        const p = attempt
          .catch((): AttemptOutcome => ({ status: 'lost' }))
          .then((outcome) => {
            o.onAttempt?.({ jobId: row.id, name: row.name, attempt: row.attempts, status: outcome.status });
            return outcome;
          })
          .finally(() => {
            running.delete(p);
            if (running.size === 0) idleSince = clock.now();
            wake();
          });
        running.add(p);
        idleSince = null;
      }
      return rows.length;
    }

    const loop = (async () => {
      while (!closed) {
        let claimed = 0;
        try {
          await fireSchedules();
          claimed = await claimAndRun();
        } catch {
          // The database is briefly unavailable (restart, lock timeout): try again on the next tick.
        }
        if (closed) break;
        // A full claim may leave more due: look again at once; otherwise sleep until a wake or a tick.
        if (claimed > 0 && running.size < concurrency) continue;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, pollMs);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    })();

    const handle: WorkerHandle & { wake(): void; busy(): number; concurrency: number } = {
      workerId,
      concurrency,
      busy: () => running.size,
      idleSince: () => idleSince,
      wake: () => wake(),
      async close() {
        closed = true;
        wake();
        await loop;
        await Promise.all([...running]);
        workers.delete(handle);
      },
    };
    return handle;
  }

  return {
    kind: 'in-process',
    define: records.define,
    async enqueue(name, payload, options) {
      const { values } = await records.prepareAdmitted(name, payload, options);
      const { row, created } = await records.insert(db, values);
      if (created && values.run_at <= clock.now()) for (const w of workers) w.wake();
      return toJob(row);
    },
    async enqueueIn(tx, name, payload, options) {
      const { values } = records.prepare(name, payload, options);
      const { row, created } = await records.insert(tx, values);
      return {
        job: toJob(row),
        dispatch: async () => {
          if (created && values.run_at <= clock.now()) for (const w of workers) w.wake();
        },
      };
    },
    async repeat(name, payload, options: RepeatOptions) {
      const cadence = parseCadence(options);
      const { values } = records.prepare(name, payload, {}, options.key);
      const now = clock.now();
      await repo.upsertSchedule({
        tx: db,
        values: {
          key: options.key,
          name,
          payload: values.payload,
          cron: 'cron' in cadence ? cadence.cron : null,
          every_ms: 'everyMs' in cadence ? cadence.everyMs : null,
          next_run_at: nextTick(cadence, now),
          created_at: now,
          updated_at: now,
        },
      });
    },
    unrepeat: (key) => repo.deleteSchedule({ tx: db, key }),
    get: records.get,
    list: records.list,
    workers: () => records.workers(),
    async cancel(input) {
      return (await records.cancel(input)).job;
    },
    work(o = {}) {
      const w = startWorker(o);
      workers.add(w);
      return w;
    },
    depth: () => queueDepth(db),
    load() {
      let slots = 0;
      let busy = 0;
      for (const w of workers) {
        slots += w.concurrency;
        busy += w.busy();
      }
      return { slots, busy };
    },
    async close() {
      await Promise.all([...workers].map((w) => w.close()));
    },
  };
}
