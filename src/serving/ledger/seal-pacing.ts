import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/*
 * When a closed segment's seal may start. Sealing (decoding the file, writing Parquet, hashing and
 * storing the blob) is background work: the segment file is already durable and readable, so a seal
 * can wait. While the event loop is busy serving (its utilisation over the last check at or above
 * `busyShare`), seals wait for a quieter moment, up to `maxWaiting` closed segments: past that, or
 * when the writer closes, they run at once. Measured on 2 cores (bench/serving.bench.ts, batches of
 * 32 records on a cheap model), a seal running beside a saturated event loop cost a third of its
 * throughput even at background priority: the 2 virtual cores share one machine's caches and units.
 */

export interface SealPacing {
  /** How often the event loop's utilisation is read while a seal waits (ms). */
  checkMs: number;
  /** The utilisation (0-1) from which the event loop counts as busy. */
  busyShare: number;
  /** Closed segments that may wait; one more and the oldest is sealed whatever the load. */
  maxWaiting: number;
}

export const DEFAULT_SEAL_PACING: SealPacing = { checkMs: 250, busyShare: 0.8, maxWaiting: 16 };

/**
 * Resolves once a seal may start: at once when `waiting()` is above `maxWaiting` or `closing()`
 * holds, else after a check (checkMs) in which the event loop was less than `busyShare` busy.
 */
export async function untilQuiet(
  pacing: SealPacing,
  waiting: () => number,
  closing: () => boolean,
): Promise<void> {
  for (;;) {
    if (closing() || waiting() > pacing.maxWaiting) return;
    const from = performance.eventLoopUtilization();
    await sleep(pacing.checkMs);
    if (closing() || performance.eventLoopUtilization(from).utilization < pacing.busyShare) return;
  }
}
