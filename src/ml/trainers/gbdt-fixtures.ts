import { seededRandom } from '../../core/random.js';
import type { GrowSteps } from './gbdt-grower.js';
import { HistogramJob } from './gbdt-level.js';
import { createHistogramSpace, JOB_WORDS, type Storage } from './gbdt-space.js';

/*
 * What the gbdt tests share (gbdt.trainer, gbdt-threads and gbdt-grower .test.ts): a timeout, random
 * histogram spaces, a view's bytes, and steps that count their shared split searches.
 */

/**
 * The timeout of tests that fit or start workers: a fit takes about a second on an idle machine, and
 * a worker started from the TypeScript sources a fraction of one; a CI box at a load of 20 makes
 * that many times more, so these tests wait far longer than the default instead of failing on load.
 */
export const SLOW = 180_000;

/**
 * The steps, counting the level steps whose split searches were shared between threads (their
 * results then meet in bestOfParts): a threaded test that never gets there tests nothing of it.
 * Also counts the histogram-job steps in which two jobs named the same slot (as their own or as
 * their parent's): threads may run different jobs of a step at once, so none may.
 */
export function countShared(
  steps: GrowSteps,
): GrowSteps & { readonly shared: number; readonly released: number; readonly clashes: number } {
  let shared = 0;
  let released = 0;
  let clashes = 0;
  /** Counts the histogram jobs [0, count) that let a slot go, and a clash if two name one slot. */
  const checkSlots = (count: number) => {
    const { jobs } = steps.space;
    const slots: number[] = [];
    for (let j = 0; j < count; j++) {
      const o = j * JOB_WORDS;
      slots.push(jobs[o + HistogramJob.slot]!);
      if (jobs[o + HistogramJob.parent]! >= 0) slots.push(jobs[o + HistogramJob.parent]!);
      // A child that cannot split: its slot is let go once the step is done.
      if ((jobs[o + HistogramJob.search]! & 3) !== 3) released++;
    }
    if (new Set(slots).size < slots.length) clashes++;
  };
  return {
    space: steps.space,
    build: (...args) => steps.build(...args),
    rowJobs: (count) => steps.rowJobs(count),
    histogramJobs: (count, chosenCount) => {
      checkSlots(count);
      const parts = steps.histogramJobs(count, chosenCount);
      if (parts > 1) shared++;
      return parts;
    },
    levelJobs: (count, chosenCount, histograms) => {
      let histogramCount = 0;
      const parts = steps.levelJobs(count, chosenCount, () => {
        histogramCount = histograms();
        checkSlots(histogramCount);
        return histogramCount;
      });
      if (parts > 1 && histogramCount > 0) shared++;
      return parts;
    },
    get shared() {
      return shared;
    },
    get released() {
      return released;
    },
    get clashes() {
      return clashes;
    },
  };
}

/** An array's own bytes (a space's arrays are views of one WebAssembly memory). */
export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** A histogram space over random bins: columns (column-major) and the row-major global bins from them. */
export function randomSpace(opts: {
  n: number;
  binCounts: number[];
  seed: number;
  countRows: boolean;
  slotCount: number;
  jobCapacity?: number;
  storage: Storage;
  kernels?: boolean;
  rows?: { kc: number; treeCapacity: number };
  /** The most threads (parts) the space serves (3 by default). */
  threads?: number;
}) {
  const { n, binCounts } = opts;
  const r = seededRandom(opts.seed);
  const space = createHistogramSpace({ jobCapacity: 1, threads: 3, ...opts });
  const { columns, bins, binStart, width } = space;
  binCounts.forEach((count, f) => {
    for (let i = 0; i < n; i++) {
      columns[f * n + i] = Math.floor(r() * count);
      bins[i * width + f] = binStart[f]! + columns[f * n + i]!;
    }
  });
  return { space, random: r };
}
