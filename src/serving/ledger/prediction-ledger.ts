import type { Clock } from '../../core/clock.js';
import { ConflictError, UnavailableError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Store } from '../../store/index.js';
import type { LedgerMode } from '../serving.schema.js';
import { type LedgerWriter, writerFor } from './ledger-writer.js';
import {
  entryRows,
  type PackedEntry,
  type PredictionBatch,
  type PredictionRecord,
  packBatch,
  packRecord,
} from './prediction-row.js';

/*
 * The prediction ledger: every served prediction goes through append(), and none is dropped.
 *
 * Group commit: at most one commit is in flight; whatever is appended while it runs forms the next
 * group (up to maxBatch rows), so many requests share one fsync. A durable append resolves after its
 * group is committed; an idle ledger starts a commit at once (after the current tick, so the records of
 * one batch request travel together) and adds no timer latency.
 *
 * Async mode: append resolves once buffered; a commit starts when a record has waited flushIntervalMs
 * or maxBatch rows are waiting. A crash loses what is buffered: at most about one flush interval of
 * predictions (plus the commit in flight).
 *
 * Bounded: buffered + in-flight rows never exceed maxPending; beyond that append waits for room
 * (backpressure), optionally up to maxWaitMs before failing with UnavailableError (a 503).
 *
 * A failed commit: durable, the appends of that group reject with UnavailableError (the caller knows
 * the prediction was not logged); async, the rows stay buffered and are retried with backoff.
 */

export interface LedgerOptions {
  store: Store;
  clock: Clock;
  /** 'durable' (default) | 'async'. */
  mode?: LedgerMode;
  /** Async: the longest a record waits in memory before its commit starts (default 200), the crash-loss bound. */
  flushIntervalMs?: number;
  /** Rows per commit (default 2000). */
  maxBatch?: number;
  /** Bound on buffered + in-flight rows (default 20000): append waits beyond it. */
  maxPending?: number;
  /** How long an append may wait for room before failing with UnavailableError (default: no limit). */
  maxWaitMs?: number;
  logger?: Logger;
  /** Where groups are committed (default: chosen for the store). Tests use it to stall or fail commits. */
  writer?: LedgerWriter;
}

export interface LedgerStats {
  mode: LedgerMode;
  /** Rows buffered or in the commit in flight. */
  pending: number;
  /** Appends waiting for room (backpressure). */
  waiting: number;
  committed: number;
  commits: number;
  failedCommits: number;
  /** Rows a crash could lose right now: 0 in durable mode (every acknowledged row is committed). */
  atRisk: number;
  /** Async: the crash-loss bound in ms (records wait at most this long before their commit starts); 0 when durable. */
  flushIntervalMs: number;
}

export interface PredictionLedger {
  readonly mode: LedgerMode;
  /** Durable: resolves once the record's group is committed; async: once buffered. Waits when full; never drops. */
  append(record: PredictionRecord): Promise<void>;
  /**
   * The records of one request, with one promise for all of them (same guarantees as append per
   * record). A batch larger than maxBatch travels in several groups.
   */
  appendBatch(batch: PredictionBatch): Promise<void>;
  /** Commits everything appended so far (async: rejects if that commit fails; the rows stay buffered). */
  flush(): Promise<void>;
  /** Flushes, then refuses further appends (ConflictError) and stops the writer. */
  close(): Promise<void>;
  stats(): LedgerStats;
}

/** The rows of one append (one request's records, at most maxBatch), in order of arrival. */
interface Entry {
  seq: number;
  rows: number;
  packed: PackedEntry;
  resolve?: () => void;
  reject?: (err: Error) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** An append waiting for room: admitted synchronously when room frees, so no slot is handed out twice. */
interface SpaceWaiter {
  rows: number;
  admit: () => void;
  timer: NodeJS.Timeout | undefined;
}

const MAX_BACKOFF_MS = 5000;
const CLOSE_ATTEMPTS = 5;

/** Opens a ledger on the store: group-committed, bounded, durable by default. */
export function openPredictionLedger(opts: LedgerOptions): PredictionLedger {
  const mode: LedgerMode = opts.mode ?? 'durable';
  const flushIntervalMs = Math.max(1, opts.flushIntervalMs ?? 200);
  const maxPending = Math.max(1, opts.maxPending ?? 20_000);
  const maxBatch = Math.min(maxPending, Math.max(1, opts.maxBatch ?? 2000));
  const writer = opts.writer ?? writerFor(opts.store);
  const log = opts.logger;

  const queue: Entry[] = [];
  /** Rows in the queue (entries carry one request's rows each). */
  let queuedRows = 0;
  let inFlight = 0;
  let lastSeq = 0;
  /** Every row up to this seq is committed (or, durable, failed and answered). */
  let settledThrough = 0;
  /** Rows up to this seq should be committed now (a flush, the timer, close). */
  let drainTarget = 0;
  let committing = false;
  let scheduled = false;
  let timer: NodeJS.Timeout | undefined;
  let backoffMs = 0;
  let closed = false;
  let closing: Promise<void> | undefined;
  const spaceWaiters: SpaceWaiter[] = [];
  const flushWaiters: (Waiter & { seq: number })[] = [];
  let committed = 0;
  let commits = 0;
  let failedCommits = 0;

  const pending = () => queuedRows + inFlight;

  const wakeSpace = () => {
    for (;;) {
      const w = spaceWaiters[0];
      if (!w || pending() + w.rows > maxPending) return;
      spaceWaiters.shift();
      clearTimeout(w.timer);
      w.admit();
    }
  };

  const settleFlushes = () => {
    for (let i = flushWaiters.length - 1; i >= 0; i--) {
      const w = flushWaiters[i];
      if (w && w.seq <= settledThrough) {
        flushWaiters.splice(i, 1);
        w.resolve();
      }
    }
  };

  const due = (): boolean => {
    const head = queue[0];
    if (!head) return false;
    return mode === 'durable' || queuedRows >= maxBatch || head.seq <= drainTarget;
  };

  const arm = (ms: number) => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      drainTarget = Math.max(drainTarget, lastSeq);
      kick();
    }, ms);
  };

  const kick = () => {
    if (committing || scheduled) return;
    scheduled = true;
    // After the current tick: the records appended in one synchronous stretch share a commit.
    queueMicrotask(() => {
      scheduled = false;
      void pump();
    });
  };

  const commitGroup = async (group: Entry[], rows: number): Promise<boolean> => {
    const entries = new Array<PackedEntry>(group.length);
    for (let i = 0; i < group.length; i++) entries[i] = (group[i] as Entry).packed;
    try {
      await writer.write(entries);
      commits++;
      committed += rows;
      return true;
    } catch (err) {
      failedCommits++;
      const last = group[group.length - 1]?.seq ?? 0;
      if (mode === 'durable') {
        log?.error({ err, rows }, 'prediction ledger: commit failed; those predictions were not logged');
        const failure = new UnavailableError(
          'the prediction log could not record this prediction; retry later',
          {
            reason: 'ledger_commit_failed',
          },
        );
        for (const e of group) e.reject?.(failure);
        settledThrough = last;
        return false;
      }
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs > 0 ? backoffMs * 2 : 100);
      log?.warn(
        { err, rows, retryInMs: backoffMs },
        'prediction ledger: commit failed; the rows stay buffered and are retried',
      );
      const failure = new UnavailableError(
        'the prediction log could not be written; the rows stay buffered',
        {
          reason: 'ledger_commit_failed',
          buffered: pending(),
        },
      );
      for (const w of flushWaiters.splice(0)) w.reject(failure);
      return false;
    }
  };

  const pump = async () => {
    if (committing) return;
    committing = true;
    try {
      while (due() && !(mode === 'async' && backoffMs > 0 && timer)) {
        // Whole entries, up to maxBatch rows (an entry never holds more).
        let rows = 0;
        let n = 0;
        while (n < queue.length && (n === 0 || rows + (queue[n] as Entry).rows <= maxBatch))
          rows += (queue[n++] as Entry).rows;
        const group = queue.splice(0, n);
        queuedRows -= rows;
        inFlight = rows;
        const ok = await commitGroup(group, rows);
        inFlight = 0;
        if (ok) {
          backoffMs = 0;
          settledThrough = group[group.length - 1]?.seq ?? settledThrough;
          for (const e of group) e.resolve?.();
        } else if (mode === 'async') {
          // Back to the head of the queue, in order; retried after the backoff.
          queue.unshift(...group);
          queuedRows += rows;
          arm(backoffMs);
          break;
        }
        settleFlushes();
        wakeSpace();
      }
    } finally {
      committing = false;
    }
    settleFlushes();
    wakeSpace();
    if (queue.length === 0 && timer && backoffMs === 0) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (queue.length > 0) {
      if (due() && !timer) kick();
      else if (mode === 'async') arm(flushIntervalMs);
    }
  };

  const enqueue = (entry: Entry) => {
    queue.push(entry);
    queuedRows += entry.rows;
    if (mode === 'durable' || queuedRows >= maxBatch) {
      if (!(backoffMs > 0 && timer)) kick();
    } else arm(flushIntervalMs);
  };

  /** Queues an append behind the others waiting for room; admit() enqueues it (and settles the append). */
  const waitForSpace = (rows: number, admit: () => Promise<void>): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const w: SpaceWaiter = {
        rows,
        admit: () => admit().then(resolve, reject),
        timer:
          opts.maxWaitMs === undefined
            ? undefined
            : setTimeout(() => {
                const i = spaceWaiters.indexOf(w);
                if (i >= 0) spaceWaiters.splice(i, 1);
                reject(
                  new UnavailableError('the prediction log is full and did not drain in time; retry later', {
                    reason: 'ledger_full',
                    pending: pending(),
                    maxPending,
                  }),
                );
              }, opts.maxWaitMs),
      };
      spaceWaiters.push(w);
    });

  const closedError = () => new ConflictError('the prediction ledger is closed', { reason: 'ledger_closed' });

  const flush = (): Promise<void> => {
    const target = lastSeq;
    if (target <= settledThrough) return Promise.resolve();
    drainTarget = Math.max(drainTarget, target);
    return new Promise<void>((resolve, reject) => {
      flushWaiters.push({ seq: target, resolve, reject });
      if (!(backoffMs > 0 && timer)) kick();
    });
  };

  const drainAll = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        // Appends still waiting for room are admitted as the queue drains; wait for them too.
        while (pending() > 0 || spaceWaiters.length > 0) {
          if (pending() === 0) await new Promise((r) => setImmediate(r));
          else await flush();
        }
        return;
      } catch (err) {
        if (attempt >= CLOSE_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, 100 * 2 ** attempt)));
        if (timer) {
          clearTimeout(timer);
          timer = undefined;
        }
        backoffMs = 0;
      }
    }
  };

  /** Appends one packed entry (at most maxBatch rows). */
  const appendEntry = (packed: PackedEntry): Promise<void> => {
    const rows = entryRows(packed);
    const admit = (): Promise<void> => {
      const seq = ++lastSeq;
      if (mode === 'async') {
        enqueue({ seq, rows, packed });
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => enqueue({ seq, rows, packed, resolve, reject }));
    };
    // FIFO: while anyone waits for room, newcomers queue behind them.
    if (pending() + rows <= maxPending && spaceWaiters.length === 0) return admit();
    return waitForSpace(rows, admit);
  };

  return {
    mode,
    append(record) {
      if (closed) return Promise.reject(closedError());
      return appendEntry(packRecord(record));
    },
    appendBatch(batch) {
      if (closed) return Promise.reject(closedError());
      const n = batch.ids.length;
      if (n <= maxBatch) return n === 0 ? Promise.resolve() : appendEntry(packBatch(batch));
      // Packed up front, appended in order: the parts queue one behind the other.
      const parts: PackedEntry[] = [];
      for (let from = 0; from < n; from += maxBatch)
        parts.push(packBatch(batch, from, Math.min(n, from + maxBatch)));
      return Promise.all(parts.map(appendEntry)).then(() => undefined);
    },
    flush,
    close() {
      if (closing) return closing;
      closed = true;
      closing = (async () => {
        try {
          await drainAll();
        } catch (err) {
          const lost = pending();
          log?.error({ err, rows: lost }, 'prediction ledger: closing with rows that could not be written');
          throw new UnavailableError(`the prediction log could not write ${lost} buffered predictions`, {
            reason: 'ledger_commit_failed',
            rows: lost,
          });
        } finally {
          if (timer) clearTimeout(timer);
          timer = undefined;
          await writer.close();
        }
      })();
      return closing;
    },
    stats: () => ({
      mode,
      pending: pending(),
      waiting: spaceWaiters.length,
      committed,
      commits,
      failedCommits,
      atRisk: mode === 'async' ? pending() : 0,
      flushIntervalMs: mode === 'async' ? flushIntervalMs : 0,
    }),
  };
}
