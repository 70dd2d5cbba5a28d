import type { Clock } from '../core/clock.js';
import { ConflictError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { type Db, inTransaction } from '../store/index.js';
import type { JobAttemptTable } from '../store/schema-jobs.js';
import * as repo from './job.repo.js';
import type { JobContext, ResolvedJobKind } from './job-kind.js';

/*
 * One attempt of one claimed job, the same on both implementations: log the attempt, run the handler
 * under a timeout with heartbeats that keep the lease (and notice a cancel), then move the row on.
 * Only the holder of the lease may move it: a late finisher (timed out, cancelled, superseded) writes
 * nothing.
 */

/** How an attempt ended, for the implementation to act on (BullMQ retries what says 'retry'). */
export type AttemptOutcome =
  | { status: 'completed' }
  | { status: 'retry'; error: string; runAt: number }
  | { status: 'failed'; error: string }
  | { status: 'cancelled' }
  | { status: 'lost' };

export interface AttemptDeps {
  db: Db;
  clock: Clock;
  leaseMs: number;
}

const MAX_TEXT = 2_000;
const MAX_RESULT = 10_000;

/** Delay before attempt n+1 after n failed attempts: base * 2^(n-1), as BullMQ's 'exponential'. */
export function retryDelayMs(backoffMs: number, attempts: number): number {
  return backoffMs * 2 ** Math.max(0, attempts - 1);
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.slice(0, MAX_TEXT);
}

function resultText(value: unknown): string | null {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  if (text === undefined) return null;
  return text.length <= MAX_RESULT ? text : JSON.stringify({ truncated: true, bytes: text.length });
}

/** The attempt-log row of a job just claimed (logged in the claiming transaction). */
export function attemptRow(row: repo.JobRow, workerId: string, now: number): JobAttemptTable {
  return {
    id: newId('jba', now),
    job_id: row.id,
    attempt: row.attempts,
    worker_id: workerId,
    status: 'running',
    started_at: now,
    ended_at: null,
    error: null,
  };
}

/** Runs one attempt of a job claimed by `owner` (its attempt already logged) and moves the row on. */
export async function runAttempt(
  deps: AttemptDeps,
  kind: ResolvedJobKind,
  row: repo.JobRow,
  owner: string,
): Promise<AttemptOutcome> {
  const { db, clock, leaseMs } = deps;
  const n = row.attempts;

  const finish = async (
    status: 'completed' | 'failed' | 'queued',
    attemptStatus: 'completed' | 'failed' | 'lost',
    error: string | null,
    runAt: number,
    result?: string | null,
  ): Promise<boolean> => {
    const now = clock.now();
    return inTransaction(db, (tx) =>
      repo.finishAttempt({
        tx,
        id: row.id,
        owner,
        attempt: n,
        attemptStatus,
        error,
        now,
        set: {
          status,
          run_at: runAt,
          error,
          finished_at: status === 'queued' ? null : now,
          ...(result !== undefined ? { result } : {}),
        },
      }),
    );
  };

  // An earlier attempt committed the effects and then died before marking the job done.
  if (row.committed_at !== null)
    return (await finish('completed', 'completed', null, row.run_at))
      ? { status: 'completed' }
      : { status: 'lost' };
  // The last allowed attempt was lost with its worker: give up rather than loop.
  if (n > row.max_attempts) {
    const error = `gave up after ${row.max_attempts} attempts: the worker running the last one was lost`;
    return (await finish('failed', 'lost', error, row.run_at))
      ? { status: 'failed', error }
      : { status: 'lost' };
  }

  const controller = new AbortController();
  let aborted: (reason: Error) => void = () => {};
  const abortion = new Promise<never>((_, reject) => {
    aborted = reject;
  });
  const abort = (reason: Error) => {
    if (controller.signal.aborted) return;
    // Reject first: a handler that resolves on the abort event must not win the race.
    aborted(reason);
    controller.abort(reason);
  };
  abortion.catch(() => {});

  let committed = row.committed_at !== null;
  const beat = async () => {
    const now = clock.now();
    const held = await repo.extendLease({ tx: db, id: row.id, owner, now, leaseUntil: now + leaseMs });
    if (!held) abort(new LeaseLostError());
  };
  const timer = setTimeout(
    () => abort(new Error(`timed out after ${row.timeout_ms} ms (attempt ${n})`)),
    row.timeout_ms,
  );
  const heart = setInterval(() => void beat().catch(() => {}), Math.max(50, Math.floor(leaseMs / 3)));

  const ctx: JobContext = {
    jobId: row.id,
    attempt: n,
    signal: controller.signal,
    get committed() {
      return committed;
    },
    progress: async (value) => {
      const now = clock.now();
      const text = JSON.stringify(value ?? null).slice(0, MAX_TEXT);
      if (!(await repo.setProgress({ tx: db, id: row.id, owner, progress: text, now })))
        abort(new LeaseLostError());
    },
    heartbeat: beat,
    commit: async (fn) => {
      if (controller.signal.aborted) throw controller.signal.reason;
      return inTransaction(db, async (tx) => {
        // The marker and the lease are checked in the transaction that writes the effects.
        const held = await repo.extendLease({
          tx,
          id: row.id,
          owner,
          now: clock.now(),
          leaseUntil: clock.now() + leaseMs,
        });
        if (!held || !(await repo.markCommitted({ tx, id: row.id, now: clock.now() })))
          throw new ConflictError(
            `job '${row.id}': its effects are already committed, or another worker holds it`,
            {
              id: row.id,
            },
          );
        const out = await fn(tx);
        committed = true;
        return out;
      });
    },
  };

  try {
    const payload: unknown = JSON.parse(row.payload);
    const value = await Promise.race([kind.handler(payload, ctx), abortion]);
    if (controller.signal.aborted) throw controller.signal.reason;
    clearTimeout(timer);
    clearInterval(heart);
    return (await finish('completed', 'completed', null, row.run_at, resultText(value)))
      ? { status: 'completed' }
      : await lostOrCancelled(db, row.id);
  } catch (err) {
    clearTimeout(timer);
    clearInterval(heart);
    if (err instanceof LeaseLostError) return lostOrCancelled(db, row.id);
    const error = errorText(err);
    // Effects committed, then the handler failed: the job's work is done; retrying could not redo it.
    if (committed)
      return (await finish('completed', 'completed', error, row.run_at))
        ? { status: 'completed' }
        : lostOrCancelled(db, row.id);
    if (n < row.max_attempts) {
      const runAt = clock.now() + retryDelayMs(row.backoff_ms, n);
      return (await finish('queued', 'failed', error, runAt))
        ? { status: 'retry', error, runAt }
        : lostOrCancelled(db, row.id);
    }
    return (await finish('failed', 'failed', error, row.run_at))
      ? { status: 'failed', error }
      : lostOrCancelled(db, row.id);
  } finally {
    controller.abort(new LeaseLostError());
  }
}

class LeaseLostError extends Error {
  constructor() {
    super('the job was cancelled or another worker holds it now');
  }
}

async function lostOrCancelled(db: Db, id: string): Promise<AttemptOutcome> {
  const row = await repo.findJob({ tx: db, id });
  return row?.status === 'cancelled' ? { status: 'cancelled' } : { status: 'lost' };
}
