import os from 'node:os';
import {
  isMainThread,
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from 'node:worker_threads';
import { workerEntry } from '../../core/worker-entry.js';
import type { HistogramBuild } from './gbdt-grower.js';
import { buildHistogramPart, type HistogramSpace } from './gbdt-histogram.js';

/*
 * Histogram building over worker threads, for a trainer that stays synchronous (fitModel returns a
 * model, not a promise, and runs inside sweep workers too). The main thread and the workers meet
 * in shared memory: the main thread writes a build's range into the control words, bumps the
 * generation and wakes the workers (Atomics.notify), sums its own share of the features, then sleeps
 * (Atomics.wait) until every worker has counted itself done. Thread t of T sums the t-th contiguous
 * share of the chosen features; a feature's histogram is one thread's work over the rows in order,
 * so the result does not depend on T.
 */

/** Control words (Int32Array over a SharedArrayBuffer). */
export const Control = {
  /** Bumped once per command; workers sleep on it. */
  generation: 0,
  /** Workers yet to finish the current command; the main thread sleeps on it. */
  pending: 1,
  begin: 2,
  end: 3,
  slot: 4,
  chosenCount: 5,
  /** 1: workers leave their loop at the next generation. */
  stop: 6,
  /** Workers that have started and wait for commands. */
  ready: 7,
  /** 1 once a worker failed; its message waits on its port. */
  failed: 8,
  length: 9,
} as const;

/** What a histogram worker receives as workerData. */
export interface HistogramWorkerData {
  control: Int32Array;
  space: HistogramSpace;
  /** This worker's share: part `part` of `parts` (the main thread sums part 0). */
  part: number;
  parts: number;
  port: MessagePort;
}

/** Below this many (row, feature) cells a build stays on the main thread: waking workers costs more. */
const MIN_PARALLEL_CELLS = 1 << 16;
/** Below this many training (row, feature) cells a fit starts no workers at all. */
const MIN_THREADED_CELLS = 1 << 20;
/** How long a fit waits for its workers to start before summing alone (same model, only slower). */
const START_TIMEOUT_MS = 30_000;
/** A started worker that takes this long over one build is taken for dead. */
const BUILD_TIMEOUT_MS = 120_000;

/** The default thread count: up to 4 cores, and 1 inside a worker thread (sweeps already fan out). */
export function defaultThreads(): number {
  return isMainThread ? Math.min(os.availableParallelism(), 4) : 1;
}

/** Whether a fit on this many training rows and features gains from worker threads at all. */
export function worthThreads(rows: number, features: number): boolean {
  return rows * features >= MIN_THREADED_CELLS;
}

/** The chosen features [c0, c1) that part `part` of `parts` sums. */
export function partRange(part: number, parts: number, chosenCount: number): [number, number] {
  return [Math.floor((part * chosenCount) / parts), Math.floor(((part + 1) * chosenCount) / parts)];
}

/** Sums on the calling thread only. */
export function localHistograms(space: HistogramSpace): HistogramBuild & { close(): void } {
  return {
    space,
    build: (slot, begin, end, chosenCount) => buildHistogramPart(space, slot, begin, end, 0, chosenCount),
    close: () => undefined,
  };
}

/**
 * Starts threads - 1 workers on a space whose arrays are shared (sharedStorage) and waits for them
 * to start. If they do not start in time, builds run on the calling thread, giving the same model.
 * `parallelBuilds` counts the builds the workers took part in.
 */
export function threadedHistograms(
  space: HistogramSpace,
  threads: number,
): HistogramBuild & { close(): void; readonly parallelBuilds: number } {
  const control = new Int32Array(new SharedArrayBuffer(4 * Control.length));
  const entry = workerEntry(import.meta.url, 'gbdt-histogram-worker');
  const ports: MessagePort[] = [];
  const workers = Array.from({ length: threads - 1 }, (_, k) => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    const workerData: HistogramWorkerData = { control, space, part: k + 1, parts: threads, port: port2 };
    const w = new Worker(entry, { workerData, transferList: [port2] });
    w.unref();
    return w;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const ready = Atomics.load(control, Control.ready);
    if (ready >= workers.length || Date.now() >= deadline) break;
    Atomics.wait(control, Control.ready, ready, Math.max(1, deadline - Date.now()));
  }
  const started = Atomics.load(control, Control.ready) >= workers.length;
  let parallelBuilds = 0;
  const close = () => {
    Atomics.store(control, Control.stop, 1);
    Atomics.add(control, Control.generation, 1);
    Atomics.notify(control, Control.generation);
    for (const w of workers) void w.terminate();
  };
  if (!started) close();
  return {
    space,
    get parallelBuilds() {
      return parallelBuilds;
    },
    close,
    build(slot, begin, end, chosenCount) {
      if (!started || (end - begin) * chosenCount < MIN_PARALLEL_CELLS) {
        buildHistogramPart(space, slot, begin, end, 0, chosenCount);
        return;
      }
      parallelBuilds++;
      control[Control.begin] = begin;
      control[Control.end] = end;
      control[Control.slot] = slot;
      control[Control.chosenCount] = chosenCount;
      Atomics.store(control, Control.pending, workers.length);
      Atomics.add(control, Control.generation, 1);
      Atomics.notify(control, Control.generation);
      const [c0, c1] = partRange(0, threads, chosenCount);
      buildHistogramPart(space, slot, begin, end, c0, c1);
      for (;;) {
        const pending = Atomics.load(control, Control.pending);
        if (pending === 0) break;
        if (Atomics.wait(control, Control.pending, pending, BUILD_TIMEOUT_MS) === 'timed-out') {
          close();
          throw new Error(`gbdt: a histogram worker did not answer within ${BUILD_TIMEOUT_MS / 1000} s`);
        }
      }
      if (Atomics.load(control, Control.failed) !== 0) {
        const reasons = ports.map((p) => receiveMessageOnPort(p)?.message).filter((m) => m !== undefined);
        close();
        throw new Error(`gbdt: a histogram worker failed: ${String(reasons[0] ?? 'no message')}`);
      }
    },
  };
}
