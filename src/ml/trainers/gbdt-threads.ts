import os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { type BinJob, binJobDone, runBinTasks } from './gbdt-bins.js';
import { Command, Control, waitWhile } from './gbdt-control.js';
import type { GrowSteps } from './gbdt-grower.js';
import { buildDenseChunks, buildHistogramPart, isDense, joinDenseChunks } from './gbdt-histogram.js';
import { releaseKernels } from './gbdt-kernels.js';
import {
  finishRowJobs,
  HistogramJob,
  histogramJobsPart,
  isPartition,
  RowJob,
  rowJobsPart,
} from './gbdt-level.js';
import { COMMAND_TIMEOUT_MS, detach, gbdtPool, RECHECK_MS } from './gbdt-pool.js';
import { gradientPart, marginPart, type NextGradients, type RowSpace } from './gbdt-rows.js';
import { DENSE_CHUNKS, type HistogramSpace, JOB_WORDS } from './gbdt-space.js';

/*
 * Histogram building over worker threads, for a trainer that stays synchronous (fitModel returns a
 * model, not a promise, and runs inside sweep workers too). The main thread and the workers meet
 * in shared memory: the main thread writes a command into the control words (gbdt-control.ts), wakes
 * the workers, does its own share, then sleeps until every worker has counted itself done. Thread t
 * of T sums the t-th share of the row chunks of a dense single build (the root's: DENSE_CHUNKS of
 * them whatever T, added up in chunk order afterwards), the t-th contiguous share of the chosen
 * features of a sparse one, or the t-th share of a level's (job, feature) units (gbdt-level.ts); a
 * feature's histogram (or a chunk's) is one thread's work over its rows in order, so the result
 * does not depend on T. The per-row steps (gradients, margin updates; gbdt-rows.ts) are split the
 * same way by contiguous row ranges, each row's result depending on that row alone. A level of the tree (levelJobs) is one hand-off: the
 * threads partition their shares of its rows, the calling thread joins the pieces and writes the
 * histogram jobs while the workers watch a word, then all build their shares of those.
 *
 * Nothing waits for the workers to start: steps run on the calling thread alone until every worker
 * has reported ready (under load, starting a worker can take seconds), then they are shared. Since
 * the sums do not depend on who does them, the model is the same whenever the workers join, and a
 * fit never stalls on a slow start. The workers outlive the fit (gbdt-pool.ts): the next one finds
 * them ready.
 */

const NEXT_GRADIENTS: readonly NextGradients[] = ['none', 'logloss', 'squared'];

/**
 * Runs part `part` of `parts` of the command in the control words (main thread and workers alike);
 * true when a histogram build left its rows' sums in rowSums (buildHistogramPart).
 */
export function runPart(
  control: Int32Array,
  hs: HistogramSpace,
  rs: RowSpace | undefined,
  part: number,
  parts: number,
): boolean {
  const command = control[Control.command]!;
  if (command === Command.histogram) {
    const [slot, begin, end] = [control[Control.slot]!, control[Control.begin]!, control[Control.end]!];
    return buildPart(hs, slot, begin, end, control[Control.chosenCount]!, part, parts);
  }
  if (command === Command.histogramJobs) {
    histogramJobsPart(hs, control[Control.jobCount]!, control[Control.chosenCount]!, part, parts);
    return false;
  }
  if (command === Command.rowJobs) {
    rowJobsPart(hs, control[Control.jobCount]!, part, parts);
    return false;
  }
  if (command === Command.level) {
    if (part === 0) throw new Error("gbdt: a level is the calling thread's to lead (levelJobs)");
    levelPart(control, hs, part, parts);
    return false;
  }
  if (rs === undefined) throw new Error('gbdt: a row step without its row space');
  if (command === Command.gradients) {
    const [k0, k1] = partRange(part, parts, rs.trainRows.length);
    gradientPart(rs, hs, control[Control.arg] === 1, k0, k1);
  } else {
    const [i0, i1] = partRange(part, parts, rs.n);
    marginPart(rs, hs, control[Control.arg]!, i0, i1, NEXT_GRADIENTS[control[Control.nextGradients]!]);
  }
  return false;
}

/**
 * A worker's part of a level (the calling thread's is in threadedHistograms' levelJobs): its share of
 * the row jobs, counted done; then, once the calling thread has joined the shares and written the
 * histogram jobs over them, its share of those.
 */
function levelPart(control: Int32Array, hs: HistogramSpace, part: number, parts: number): void {
  rowJobsPart(hs, control[Control.jobCount]!, part, parts);
  if (Atomics.sub(control, Control.rowsPending, 1) === 1) Atomics.notify(control, Control.rowsPending);
  const count = waitWhile(control, Control.levelHistogramJobs, -1, RECHECK_MS, () => {
    if (Atomics.load(control, Control.stop) !== 0) throw new Error('gbdt: the pool was stopped mid-level');
  });
  if (count > 0) histogramJobsPart(hs, count, control[Control.chosenCount]!, part, parts);
}

/**
 * Part `part` of `parts` of a single histogram build (the root's): a dense node's share of the row
 * chunks (all features; with more threads than chunks, a share of one chunk's features), else a
 * share of the features (all rows). finishBuild completes it.
 */
function buildPart(
  hs: HistogramSpace,
  slot: number,
  begin: number,
  end: number,
  chosenCount: number,
  part: number,
  parts: number,
): boolean {
  if (isDense(hs, end - begin)) {
    if (parts <= DENSE_CHUNKS) {
      const [k0, k1] = partRange(part, parts, DENSE_CHUNKS);
      return buildDenseChunks(hs, slot, begin, end, 0, chosenCount, k0, k1);
    }
    // More threads than chunks: chunk k's threads, ceil(k T / C) up to ceil((k + 1) T / C),
    // share its features (3 threads: two share the first chunk, one takes the second whole, so
    // the root takes as long as on 2; 4 share both evenly).
    const k = Math.floor((part * DENSE_CHUNKS) / parts);
    const first = Math.ceil((k * parts) / DENSE_CHUNKS);
    const sharing = Math.ceil(((k + 1) * parts) / DENSE_CHUNKS) - first;
    const [c0, c1] = partRange(part - first, sharing, chosenCount);
    buildDenseChunks(hs, slot, begin, end, c0, c1, k, k + 1, part);
    // Whether the kernel's pass (which sums the rows) runs depends on a share's features: some
    // chunks' sums may be missing, so the grower sums the rows itself (each share's sums went to
    // its own part's pair, so no two threads wrote the same one).
    return false;
  }
  const [c0, c1] = partRange(part, parts, chosenCount);
  return buildHistogramPart(hs, slot, begin, end, c0, c1, part);
}

/**
 * Once every part of a build is done: a dense node's chunks added up. Returns `summed` (part 0's
 * buildPart): whether the rows' (g, h) sums are in rowSums[0, 2).
 */
function finishBuild(
  hs: HistogramSpace,
  slot: number,
  begin: number,
  end: number,
  chosenCount: number,
  summed: boolean,
): boolean {
  if (isDense(hs, end - begin)) joinDenseChunks(hs, slot, chosenCount, summed);
  return summed;
}

/** A fit's arrays, as the workers receive them when the fit attaches. */
export interface FitArrays {
  space: HistogramSpace;
  rows: RowSpace | undefined;
  /** Numeric features to bin (shared with the calling thread), joined on attach. */
  binJob: BinJob | undefined;
}

/**
 * Below this many (row, feature) cells (about 1,600 rows of 20 features) a build stays on the main
 * thread: waking the workers and waiting for the last one costs more than the sums. A step left to
 * the main thread also lets an idle worker fall asleep, and the next shared step then pays its
 * wake-up (100-400 us on a virtual machine): 4x lower limits than before made a 2-thread fit of
 * 100k x 20 rows about 9% faster (same-process A/B, medians of 8: 508 -> 460 ms), a further halving
 * gained nothing.
 */
const MIN_PARALLEL_CELLS = 1 << 15;
/** Below this many rows a row step (gradients, margins) stays on the main thread. */
const MIN_PARALLEL_ROWS = 1 << 11;
/**
 * Below this many rows row jobs that are a hand-off of their own (the last level's leaf labels,
 * nodes grown one at a time, levels too small for levelJobs to share) stay on the main thread. They
 * cost 1-2 ns a row (a level of 80,000 rows: about 150 us), about what a hand-off to the workers
 * and the joining of the threads' pieces (finishRowJobs) cost: sharing them in a hand-off of their
 * own made a 2-thread fit of 100k x 20 rows no faster (same-process A/B, medians of 10-12
 * alternating fits: 729 -> 716 ms, 802 -> 793 ms). A level whose histogram jobs are worth sharing
 * (levelJobs) shares its partitions in the same hand-off, whatever their size.
 */
export const MIN_PARALLEL_ROW_JOB_ROWS = 1 << 18;
/** Below this many training (row, feature) cells a fit starts no workers at all. */
const MIN_THREADED_CELLS = 1 << 20;

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
  const rowJobs = (count: number) => {
    rowJobsPart(space, count, 0, 1);
    finishRowJobs(space, count, 1);
  };
  const histogramJobs = (count: number, chosenCount: number) => {
    histogramJobsPart(space, count, chosenCount, 0, 1);
    return 1;
  };
  return {
    space,
    rows,
    binning: (job) => {
      runBinTasks(job);
    },
    build: (slot, begin, end, chosenCount) =>
      finishBuild(
        space,
        slot,
        begin,
        end,
        chosenCount,
        buildPart(space, slot, begin, end, chosenCount, 0, 1),
      ),
    rowJobs,
    histogramJobs,
    levelJobs: (count, chosenCount, histograms) =>
      levelInTwoSteps(rowJobs, histogramJobs, count, chosenCount, histograms),
    gradients: (regression) => gradientPart(need(), space, regression, 0, need().trainRows.length),
    margins: (cls, next) => marginPart(need(), space, cls, 0, need().n, next),
    close: () => releaseKernels(space.memory),
  };
}

/**
 * Shares a fit's steps with threads - 1 workers of this thread's pool (gbdt-pool.ts), on a space
 * whose arrays are shared (sharedStorage), without waiting for them: steps run on the calling thread
 * until the workers are ready (the first fit starts them), giving the same model. `parallelBuilds`
 * counts the histogram steps the workers took part in, `levelHandOffs` the levels given to them in
 * one hand-off (levelJobs); `waitReady` blocks until the workers have joined the fit (or the
 * timeout passes) and says whether they have.
 */
export function threadedHistograms(
  space: HistogramSpace,
  threads: number,
  rows?: RowSpace,
  binJob?: BinJob,
): GbdtSteps & {
  readonly parallelBuilds: number;
  readonly levelHandOffs: number;
  waitReady(timeoutMs: number): boolean;
} {
  // Each thread's split search results have their place in the space.
  if (threads > space.splitParts) throw new Error('gbdt: the histogram space has room for fewer threads');
  const pool = gbdtPool(threads - 1);
  const { control } = pool;
  // A fit started while another holds the workers (from its onIteration callback) runs on this
  // thread alone: the same model, and the outer fit keeps its workers.
  const owner = pool.claim();
  let joined = false;
  let closed = false;
  /** Joins the workers to this fit once they are all up (they then take their share of the binning). */
  const join = () => {
    if (joined || closed || !owner || !pool.ready()) return joined;
    const arrays: FitArrays = { space, rows, binJob };
    for (let part = 1; part < threads; part++) pool.post(part, arrays);
    // The workers bin while this thread goes on; the next command waits for them.
    pool.run(
      threads,
      (c) => {
        c[Control.command] = Command.attach;
      },
      () => undefined,
      false,
    );
    joined = true;
    return true;
  };
  let parallelBuilds = 0;
  let levelHandOffs = 0;
  /** Runs the command set in the control words over all threads and waits for every part. */
  const runAll = (command: (control: Int32Array) => void) => {
    let summed = false;
    pool.run(threads, command, () => {
      summed = runPart(control, space, rows, 0, threads);
    });
    return summed;
  };
  const local = localHistograms(space, rows);
  const rowJobs = (count: number) => {
    if (jobRows(space.jobs, count, RowJob.begin, RowJob.end) < MIN_PARALLEL_ROW_JOB_ROWS || !join()) {
      local.rowJobs(count);
      return;
    }
    runAll((c) => {
      c[Control.command] = Command.rowJobs;
      c[Control.jobCount] = count;
    });
    finishRowJobs(space, count, threads);
  };
  /** Whether the histogram jobs [0, count) in space.jobs are worth sharing with the workers. */
  const worthSharing = (count: number, chosenCount: number) =>
    jobRows(space.jobs, count, HistogramJob.begin, HistogramJob.end) * chosenCount >= MIN_PARALLEL_CELLS;
  const histogramJobs = (count: number, chosenCount: number) => {
    if (!worthSharing(count, chosenCount) || !join()) return local.histogramJobs(count, chosenCount);
    parallelBuilds++;
    runAll((c) => {
      c[Control.command] = Command.histogramJobs;
      c[Control.jobCount] = count;
      c[Control.chosenCount] = chosenCount;
    });
    return threads;
  };
  return {
    space,
    rows,
    get parallelBuilds() {
      return parallelBuilds;
    },
    get levelHandOffs() {
      return levelHandOffs;
    },
    close() {
      if (closed) return;
      closed = true;
      if (joined) detach(pool);
      if (owner) pool.release();
      releaseKernels(space.memory);
    },
    waitReady(timeoutMs) {
      if (!pool.waitReady(timeoutMs) || !join()) return false;
      // Joined: wait for the attach (and its binning) to be done.
      pool.sync();
      return true;
    },
    binning(job) {
      if (job !== binJob) throw new Error('gbdt: binning a job the workers were not given');
      join();
      runBinTasks(job);
      // Features a worker took may still be in progress; nothing else is left to take.
      const deadline = Date.now() + COMMAND_TIMEOUT_MS;
      for (;;) {
        if (Atomics.load(control, Control.failed) !== 0) {
          pool.kill();
          throw new Error('gbdt: a worker thread failed while binning');
        }
        const done = Atomics.load(job.progress, 1);
        if (binJobDone(job)) return;
        if (Date.now() >= deadline) {
          pool.kill();
          throw new Error(
            `gbdt: a worker thread did not finish binning within ${COMMAND_TIMEOUT_MS / 1000} s`,
          );
        }
        Atomics.wait(job.progress, 1, done, 100);
      }
    },
    build(slot, begin, end, chosenCount) {
      if ((end - begin) * chosenCount < MIN_PARALLEL_CELLS || !join())
        return local.build(slot, begin, end, chosenCount);
      parallelBuilds++;
      const summed = runAll((c) => {
        c[Control.command] = Command.histogram;
        c[Control.begin] = begin;
        c[Control.end] = end;
        c[Control.slot] = slot;
        c[Control.chosenCount] = chosenCount;
      });
      return finishBuild(space, slot, begin, end, chosenCount, summed);
    },
    rowJobs,
    histogramJobs,
    levelJobs(count, chosenCount, histograms) {
      // The histogram jobs sum the smaller children: at most half the rows the level partitions
      // (none at the last level, which labels leaves).
      const cells = (partitionedRows(space.jobs, count) / 2) * chosenCount;
      if (cells < MIN_PARALLEL_CELLS || !join())
        return levelInTwoSteps(rowJobs, histogramJobs, count, chosenCount, histograms);
      let histogramCount = 0;
      let shared = false;
      levelHandOffs++;
      pool.run(
        threads,
        (c) => {
          c[Control.command] = Command.level;
          c[Control.jobCount] = count;
          c[Control.chosenCount] = chosenCount;
          c[Control.rowsPending] = threads - 1;
          c[Control.levelHistogramJobs] = -1;
        },
        () => {
          let written = false;
          try {
            rowJobsPart(space, count, 0, threads);
            pool.countDown(Control.rowsPending);
            finishRowJobs(space, count, threads);
            histogramCount = histograms();
            // Jobs too small to share (children that mostly cannot split) are this thread's alone,
            // as histogramJobs would keep them: the workers are told there are none.
            shared = worthSharing(histogramCount, chosenCount);
            Atomics.store(control, Control.levelHistogramJobs, shared ? histogramCount : 0);
            written = true;
            Atomics.notify(control, Control.levelHistogramJobs);
            if (histogramCount > 0)
              histogramJobsPart(space, histogramCount, chosenCount, 0, shared ? threads : 1);
          } finally {
            // Whatever failed here, the workers must not wait for histogram jobs that never come.
            if (!written) {
              Atomics.store(control, Control.levelHistogramJobs, 0);
              Atomics.notify(control, Control.levelHistogramJobs);
            }
          }
        },
      );
      if (histogramCount === 0 || !shared) return 1;
      parallelBuilds++;
      return threads;
    },
    gradients(regression) {
      if (rows === undefined || rows.trainRows.length < MIN_PARALLEL_ROWS || !join()) {
        local.gradients(regression);
        return;
      }
      runAll((c) => {
        c[Control.command] = Command.gradients;
        c[Control.arg] = regression ? 1 : 0;
      });
    },
    margins(cls, next: NextGradients = 'none') {
      if (rows === undefined || rows.n < MIN_PARALLEL_ROWS || !join()) {
        local.margins(cls, next);
        return;
      }
      runAll((c) => {
        c[Control.command] = Command.margins;
        c[Control.arg] = cls;
        c[Control.nextGradients] = NEXT_GRADIENTS.indexOf(next);
      });
    },
  };
}

/**
 * A level as two steps (GrowSteps.levelJobs without the single hand-off): the row jobs, the
 * histogram jobs `histograms` writes over them, then those; returns the histogram step's parts.
 */
function levelInTwoSteps(
  rowJobs: (count: number) => void,
  histogramJobs: (count: number, chosenCount: number) => number,
  count: number,
  chosenCount: number,
  histograms: () => number,
): number {
  rowJobs(count);
  const histogramCount = histograms();
  return histogramCount > 0 ? histogramJobs(histogramCount, chosenCount) : 1;
}

/** The rows of the row jobs [0, count) that partition their nodes. */
function partitionedRows(jobs: Int32Array, count: number): number {
  let rows = 0;
  for (let j = 0, o = 0; j < count; j++, o += JOB_WORDS)
    if (isPartition(jobs, o)) rows += jobs[o + RowJob.end]! - jobs[o + RowJob.begin]!;
  return rows;
}

/** The rows the jobs [0, count) cover, from their begin and end words. */
function jobRows(jobs: Int32Array, count: number, begin: number, end: number): number {
  let rows = 0;
  for (let j = 0, o = 0; j < count; j++, o += JOB_WORDS) rows += jobs[o + end]! - jobs[o + begin]!;
  return rows;
}
