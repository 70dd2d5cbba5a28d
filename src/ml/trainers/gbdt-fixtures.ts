import { seededRandom } from '../../core/random.js';
import type { GrowSteps } from './gbdt-grower.js';
import { createHistogramSpace, type Storage } from './gbdt-space.js';

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
 */
export function countShared(steps: GrowSteps): GrowSteps & { readonly shared: number } {
  let shared = 0;
  return {
    space: steps.space,
    build: (...args) => steps.build(...args),
    rowJobs: (count) => steps.rowJobs(count),
    histogramJobs: (count, chosenCount) => {
      const parts = steps.histogramJobs(count, chosenCount);
      if (parts > 1) shared++;
      return parts;
    },
    get shared() {
      return shared;
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
