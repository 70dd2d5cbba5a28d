import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/*
 * When a closed segment's seal may start. Sealing (decoding the file, writing Parquet, hashing and
 * storing the blob) is background work: the segment file is already durable and readable on its
 * host, so a seal can wait. While the event loop is busy serving (its utilisation over the last check
 * at or above `busyShare`), seals wait for a quieter moment, each for at most `maxWaitMs`, and up to
 * `maxWaiting` closed segments per writer: past either bound, or when the writer closes, they run at
 * once. Measured on 2 cores (bench/serving.bench.ts, batches of 32 records on a cheap model), a seal
 * running beside a saturated event loop cost a third of its throughput even at background priority:
 * the 2 virtual cores share one machine's caches and units.
 */

export interface SealPacing {
  /** How often the event loop's utilisation is read while a seal waits (ms). */
  checkMs: number;
  /** The utilisation (0-1) from which the event loop counts as busy. */
  busyShare: number;
  /** Closed segments that may wait; one more and the oldest is sealed whatever the load. */
  maxWaiting: number;
  /** The longest a closed segment waits for a quiet moment (ms): its rows reach the other hosts by then. */
  maxWaitMs: number;
}

export const DEFAULT_SEAL_PACING: SealPacing = {
  checkMs: 250,
  busyShare: 0.8,
  maxWaiting: 16,
  maxWaitMs: 60_000,
};

export interface SealWait {
  /** Closed segments of the writer not sealed yet (this one included). */
  waiting: () => number;
  /** Aborted when the writer closes: no seal waits from then on, a check under way included. */
  closed: AbortSignal;
}

/**
 * Resolves once a seal may start: at once when more than `maxWaiting` wait or the writer is closing,
 * else after a check (checkMs) in which the event loop was less than `busyShare` busy, or once
 * `maxWaitMs` have passed.
 */
export async function untilQuiet(pacing: SealPacing, w: SealWait): Promise<void> {
  const until = performance.now() + pacing.maxWaitMs;
  for (;;) {
    if (w.closed.aborted || w.waiting() > pacing.maxWaiting || performance.now() >= until) return;
    const from = performance.eventLoopUtilization();
    try {
      await sleep(pacing.checkMs, undefined, { signal: w.closed });
    } catch {
      return; // aborted: the writer is closing
    }
    if (performance.eventLoopUtilization(from).utilization < pacing.busyShare) return;
  }
}
