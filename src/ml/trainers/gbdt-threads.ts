import os from 'node:os';
import {
  isMainThread,
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from 'node:worker_threads';
import { workerEntry } from '../../core/worker-entry.js';
import { type BinJob, binJobDone, runBinTasks } from './gbdt-bins.js';
import type { GrowSteps } from './gbdt-grower.js';
import { buildHistogramPart, type HistogramSpace, JOB_WORDS } from './gbdt-histogram.js';
import { HistogramJob, histogramJobsPart, RowJob, rowJobsPart } from './gbdt-level.js';
import { gradientPart, marginPart, type NextGradients, type RowSpace } from './gbdt-rows.js';

/*
 * Histogram building over worker threads, for a trainer that stays synchronous (fitModel returns a
 * model, not a promise, and runs inside sweep workers too). The main thread and the workers meet
 * in shared memory: the main thread writes a build's range into the control words, bumps the
 * generation and wakes the workers (Atomics.notify), sums its own share of the features, then sleeps
 * (Atomics.wait) until every worker has counted itself done. Thread t of T sums the t-th contiguous
 * share of the chosen features; a feature's histogram is one thread's work over the rows in order,
 * so the result does not depend on T. The per-row steps (gradients, margin updates; gbdt-rows.ts)
 * are split the same way by contiguous row ranges, each row's result depending on that row alone.
 *
 * Nothing waits for the workers to start: builds run on the calling thread alone until every worker
 * has reported ready (under load, starting a worker can take seconds), then they are shared. Since
 * the sums do not depend on who does them, the model is the same whenever the workers join, and a
 * fit never stalls on a slow start.
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
  /** What to do: one of Command. */
  command: 9,
  /** Gradients: 1 for squared error. Margins: the class whose margin the tree adds to. */
  arg: 10,
  /** Margins: the next gradients to compute after them (index in NEXT_GRADIENTS). */
  nextGradients: 11,
  /** Level steps: how many jobs space.jobs holds. */
  jobCount: 12,
  length: 13,
} as const;

/** The steps workers share with the main thread. */
export const Command = { histogram: 0, gradients: 1, margins: 2, rowJobs: 3, histogramJobs: 4 } as const;

const NEXT_GRADIENTS: readonly NextGradients[] = ['none', 'logloss', 'squared'];

/** Runs part `part` of `parts` of the command in the control words (main thread and workers alike). */
export function runPart(
  control: Int32Array,
  hs: HistogramSpace,
  rs: RowSpace | undefined,
  part: number,
  parts: number,
): void {
  const command = control[Control.command]!;
  if (command === Command.histogram) {
    const [c0, c1] = partRange(part, parts, control[Control.chosenCount]!);
    buildHistogramPart(hs, control[Control.slot]!, control[Control.begin]!, control[Control.end]!, c0, c1);
    return;
  }
  if (command === Command.histogramJobs) {
    const [c0, c1] = partRange(part, parts, control[Control.chosenCount]!);
    histogramJobsPart(hs, control[Control.jobCount]!, c0, c1);
    return;
  }
  if (command === Command.rowJobs) {
    rowJobsPart(hs, control[Control.jobCount]!, part, parts);
    return;
  }
  if (rs === undefined) throw new Error('gbdt: a row step without its row space');
  if (command === Command.gradients) {
    const [k0, k1] = partRange(part, parts, rs.trainRows.length);
    gradientPart(rs, hs, control[Control.arg] === 1, k0, k1);
  } else {
    const [i0, i1] = partRange(part, parts, rs.n);
    marginPart(rs, hs, control[Control.arg]!, i0, i1, NEXT_GRADIENTS[control[Control.nextGradients]!]);
  }
}

/** What a histogram worker receives as workerData. */
export interface HistogramWorkerData {
  control: Int32Array;
  space: HistogramSpace;
  rows: RowSpace | undefined;
  /** Numeric features to bin (shared with the main thread) before the worker reports ready. */
  binJob: BinJob | undefined;
  /** This worker's share: part `part` of `parts` (the main thread sums part 0). */
  part: number;
  parts: number;
  port: MessagePort;
}

/**
 * Below this many (row, feature) cells (about 6,500 rows of 20 features) a build stays on the main
 * thread: waking the workers and waiting for the last one costs more than the sums, all the more on a
 * loaded machine, where a wake-up can take a scheduler tick.
 */
const MIN_PARALLEL_CELLS = 1 << 17;
/** Below this many rows a row step stays on the main thread. */
const MIN_PARALLEL_ROWS = 1 << 13;
/** Below this many training (row, feature) cells a fit starts no workers at all. */
const MIN_THREADED_CELLS = 1 << 20;
/** A started worker that takes this long over one build is taken for dead (generous: machines get loaded). */
const BUILD_TIMEOUT_MS = 600_000;

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

/** The histogram builds and row steps of a fit, on one thread or several. */
export interface GbdtSteps extends GrowSteps {
  readonly rows: RowSpace | undefined;
  /** Bins the job's numeric features (workers that are up take features too) and returns when all are. */
  binning(job: BinJob): void;
  /** Gradients and hessians of every training row from its (single) margin. */
  gradients(regression: boolean): void;
  /**
   * Adds the tree in rows.tree to margin `cls` of every row, then (`next` other than 'none', one
   * margin per row) the training rows' gradients for the next tree, in the same pass.
   */
  margins(cls: number, next?: NextGradients): void;
  close(): void;
}

/** Everything on the calling thread. */
export function localHistograms(space: HistogramSpace, rows?: RowSpace): GbdtSteps {
  const need = () => {
    if (rows === undefined) throw new Error('gbdt: a row step without its row space');
    return rows;
  };
  return {
    space,
    rows,
    binning: (job) => {
      runBinTasks(job);
    },
    build: (slot, begin, end, chosenCount) => buildHistogramPart(space, slot, begin, end, 0, chosenCount),
    rowJobs: (count) => rowJobsPart(space, count, 0, 1),
    histogramJobs: (count, chosenCount) => histogramJobsPart(space, count, 0, chosenCount),
    gradients: (regression) => gradientPart(need(), space, regression, 0, need().trainRows.length),
    margins: (cls, next) => marginPart(need(), space, cls, 0, need().n, next),
    close: () => undefined,
  };
}

/**
 * Starts threads - 1 workers on a space whose arrays are shared (sharedStorage) without waiting for
 * them: builds run on the calling thread until all of them are ready, giving the same model.
 * `parallelBuilds` counts the builds the workers took part in; `waitReady` blocks until the workers
 * have started (or the timeout passes) and says whether they have.
 */
export function threadedHistograms(
  space: HistogramSpace,
  threads: number,
  rows?: RowSpace,
  binJob?: BinJob,
): GbdtSteps & { readonly parallelBuilds: number; waitReady(timeoutMs: number): boolean } {
  const control = new Int32Array(new SharedArrayBuffer(4 * Control.length));
  const entry = workerEntry(import.meta.url, 'gbdt-histogram-worker');
  const ports: MessagePort[] = [];
  const workerErrors: string[] = [];
  const workers = Array.from({ length: threads - 1 }, (_, k) => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    const workerData: HistogramWorkerData = {
      control,
      space,
      rows,
      binJob,
      part: k + 1,
      parts: threads,
      port: port2,
    };
    const w = new Worker(entry, { workerData, transferList: [port2] });
    w.unref();
    // Without a listener a worker's error would crash the process. One that fails before it is ready
    // leaves the builds on the calling thread (same model); one that fails during a build is named when
    // the build times out.
    w.on('error', (err) => workerErrors.push(err.message));
    return w;
  });
  // Once every worker is ready it stays so until close (workers leave only on stop or termination).
  let started = false;
  let closed = false;
  const allReady = () => {
    if (!started && !closed) started = Atomics.load(control, Control.ready) >= workers.length;
    return started;
  };
  let parallelBuilds = 0;
  const close = () => {
    closed = true;
    started = false;
    Atomics.store(control, Control.stop, 1);
    Atomics.add(control, Control.generation, 1);
    Atomics.notify(control, Control.generation);
    for (const w of workers) void w.terminate();
  };
  /** Runs the command set in the control words over all threads and waits for every part. */
  const runAll = () => {
    Atomics.store(control, Control.pending, workers.length);
    Atomics.add(control, Control.generation, 1);
    Atomics.notify(control, Control.generation);
    runPart(control, space, rows, 0, threads);
    for (;;) {
      const pending = Atomics.load(control, Control.pending);
      if (pending === 0) break;
      if (Atomics.wait(control, Control.pending, pending, BUILD_TIMEOUT_MS) === 'timed-out') {
        close();
        throw new Error(
          `gbdt: a worker thread did not answer within ${BUILD_TIMEOUT_MS / 1000} s${workerErrors.length ? ` (${workerErrors[0]})` : ''}`,
        );
      }
    }
    if (Atomics.load(control, Control.failed) !== 0) {
      const reasons = ports.map((p) => receiveMessageOnPort(p)?.message).filter((m) => m !== undefined);
      close();
      throw new Error(`gbdt: a worker thread failed: ${String(reasons[0] ?? 'no message')}`);
    }
  };
  const local = localHistograms(space, rows);
  return {
    space,
    rows,
    get parallelBuilds() {
      return parallelBuilds;
    },
    close,
    waitReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ready = Atomics.load(control, Control.ready);
        if (closed || ready >= workers.length || Date.now() >= deadline) return allReady();
        Atomics.wait(control, Control.ready, ready, Math.max(1, deadline - Date.now()));
      }
    },
    binning(job) {
      if (job !== binJob) throw new Error('gbdt: binning a job the workers were not given');
      runBinTasks(job);
      // Features a worker took may still be in progress; nothing else is left to take.
      const deadline = Date.now() + BUILD_TIMEOUT_MS;
      for (;;) {
        if (Atomics.load(control, Control.failed) !== 0) {
          const reasons = ports.map((p) => receiveMessageOnPort(p)?.message).filter((m) => m !== undefined);
          close();
          throw new Error(`gbdt: a worker thread failed: ${String(reasons[0] ?? 'no message')}`);
        }
        const done = Atomics.load(job.progress, 1);
        if (binJobDone(job)) return;
        if (Date.now() >= deadline) {
          close();
          throw new Error(`gbdt: a worker thread did not finish binning within ${BUILD_TIMEOUT_MS / 1000} s`);
        }
        Atomics.wait(job.progress, 1, done, 100);
      }
    },
    build(slot, begin, end, chosenCount) {
      if ((end - begin) * chosenCount < MIN_PARALLEL_CELLS || !allReady()) {
        local.build(slot, begin, end, chosenCount);
        return;
      }
      parallelBuilds++;
      control[Control.command] = Command.histogram;
      control[Control.begin] = begin;
      control[Control.end] = end;
      control[Control.slot] = slot;
      control[Control.chosenCount] = chosenCount;
      runAll();
    },
    rowJobs(count) {
      // One node is one thread's work: only several are worth sharing.
      if (count < 2 || jobRows(space.jobs, count, RowJob.begin, RowJob.end) < MIN_PARALLEL_ROWS || !allReady()) {
        local.rowJobs(count);
        return;
      }
      control[Control.command] = Command.rowJobs;
      control[Control.jobCount] = count;
      runAll();
    },
    histogramJobs(count, chosenCount) {
      const rowCount = jobRows(space.jobs, count, HistogramJob.begin, HistogramJob.end);
      if (rowCount * chosenCount < MIN_PARALLEL_CELLS || !allReady()) {
        local.histogramJobs(count, chosenCount);
        return;
      }
      parallelBuilds++;
      control[Control.command] = Command.histogramJobs;
      control[Control.jobCount] = count;
      control[Control.chosenCount] = chosenCount;
      runAll();
    },
    gradients(regression) {
      if (rows === undefined || rows.trainRows.length < MIN_PARALLEL_ROWS || !allReady()) {
        local.gradients(regression);
        return;
      }
      control[Control.command] = Command.gradients;
      control[Control.arg] = regression ? 1 : 0;
      runAll();
    },
    margins(cls, next: NextGradients = 'none') {
      if (rows === undefined || rows.n < MIN_PARALLEL_ROWS || !allReady()) {
        local.margins(cls, next);
        return;
      }
      control[Control.command] = Command.margins;
      control[Control.arg] = cls;
      control[Control.nextGradients] = NEXT_GRADIENTS.indexOf(next);
      runAll();
    },
  };
}

/** The rows the jobs [0, count) cover, from their begin and end words. */
function jobRows(jobs: Int32Array, count: number, begin: number, end: number): number {
  let rows = 0;
  for (let j = 0, o = 0; j < count; j++, o += JOB_WORDS) rows += jobs[o + end]! - jobs[o + begin]!;
  return rows;
}
