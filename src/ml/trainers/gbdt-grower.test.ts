import { describe, expect, it } from 'vitest';
import type { BinnedFeature } from './gbdt-bins.js';
import { countShared, randomSpace, SLOW } from './gbdt-fixtures.js';
import { type GrowSettings, levelWidth, slotCount, TreeGrower } from './gbdt-grower.js';
import { type HistogramSpace, plainStorage, sharedStorage } from './gbdt-space.js';
import { localHistograms, threadedHistograms } from './gbdt-threads.js';

/** Features over the given bin counts, numeric but for the one at `categorical`. */
function binnedFeatures(binCounts: number[], categorical: number): BinnedFeature[] {
  return binCounts.map((binCount, f) => ({
    kind: f === categorical ? 'categorical' : 'numeric',
    source: f,
    binCount,
    thresholds: new Float64Array(0),
    firstColumn: 0,
  }));
}

/**
 * Grows one tree on `rows` (set as the space's index) and the chosen features, with `threads`
 * threads; a threaded growth must have shared split searches (else it tests nothing of them).
 * Returns the tree and each row's leaf.
 */
function growTree(
  space: HistogramSpace,
  threads: number,
  features: BinnedFeature[],
  settings: GrowSettings,
  rows: Uint32Array,
  chosen: number[],
) {
  space.index.set(rows);
  space.chosen.set(chosen);
  const threaded = threads > 1 ? threadedHistograms(space, threads) : undefined;
  const steps = threaded ?? localHistograms(space);
  const counted = countShared(steps);
  try {
    if (threaded) expect(threaded.waitReady(SLOW / 2)).toBe(true);
    const grown = new TreeGrower(features, counted, settings).grow(rows.length, chosen.length);
    if (threaded) expect(counted.shared).toBeGreaterThan(0);
    // Threads run different jobs of a level at once: no two jobs of a level may share a slot, even
    // where a child that cannot split lets its slot go.
    expect(counted.clashes).toBe(0);
    return { ...grown, released: counted.released, leafOf: Array.from(rows, (i) => space.leafOf[i]!) };
  } finally {
    steps.close();
  }
}

describe('level-wise growth', () => {
  it(
    'grows the same trees on worker threads as on this one, with the WebAssembly kernels as with the JavaScript loops, in pre-order, level by level or node by node',
    () => {
      // A third of them trained on: 30,000 rows of 6 features, enough cells to share the big nodes.
      const n = 90_000;
      const binCounts = [255, 6, 255, 255, 30, 255];
      const features = binnedFeatures(binCounts, 1);
      // Depth 6 grows every level at once; depth 10 is too wide for that below level 5 (levelWidth),
      // where its nodes' subtrees grow one node at a time.
      for (const maxDepth of [6, 10]) {
        const grow = (threads: number, kernels = true) => {
          const storage = threads > 1 ? sharedStorage : plainStorage;
          const { space, random: r } = randomSpace({
            n,
            binCounts,
            seed: 21,
            countRows: false,
            slotCount: slotCount(maxDepth),
            jobCapacity: levelWidth(maxDepth),
            storage,
            kernels,
          });
          expect(space.memory !== undefined).toBe(kernels);
          // Gradients that grow with four features, so that trees split all the way down.
          const { columns } = space;
          for (let i = 0; i < n; i++) {
            const signal =
              (columns[i]! + columns[2 * n + i]! + columns[3 * n + i]! + columns[5 * n + i]!) / 255;
            space.gh[2 * i] = signal - 2 + 0.2 * (r() - 0.5);
            space.gh[2 * i + 1] = 0.25;
          }
          const rows = Uint32Array.from({ length: n / 3 }, (_, k) => 3 * k);
          const settings = {
            maxDepth,
            minChildWeight: 1,
            minSamplesLeaf: 1,
            minSplitGain: 0,
            lambda: 1,
            learningRate: 0.1,
            countRows: false,
          };
          return growTree(space, threads, features, settings, rows, [0, 1, 2, 3, 4, 5]);
        };
        const one = grow(1);
        const two = grow(2);
        const loops = grow(1, false);
        expect(two.tree).toEqual(one.tree);
        expect(two.leafOf).toEqual(one.leafOf);
        expect(loops.tree).toEqual(one.tree);
        expect(loops.leafOf).toEqual(one.leafOf);
        const { tree, grown } = one;
        expect(tree.value.length).toBeGreaterThan(2 ** (maxDepth - 1));
        // Pre-order: a split node's left child comes right after it.
        tree.left.forEach((l, id) => {
          if (l >= 0) expect(l).toBe(id + 1);
        });
        // Every row's leaf (grown ids) is a leaf, and the same leaf value in both orders.
        expect(one.leafOf.every((id) => grown.left[id] === -1)).toBe(true);
        expect([...tree.value].sort()).toEqual([...grown.value].sort());
      }
    },
    SLOW,
  );
});

describe('split search with threads', () => {
  it(
    'grows the same trees on 1, 2 and 3 threads with row counts, a minimum leaf size, features left out and a feature copied (equal gains go to the first)',
    () => {
      // Half of them trained on: 60,000 rows of 4 chosen features, enough cells to share the big nodes.
      const n = 120_000;
      // Feature 4 is a copy of feature 0 (equal gains on every split); feature 2 is left out.
      const binCounts = [255, 255, 255, 6, 255];
      const features = binnedFeatures(binCounts, 3);
      const maxDepth = 6;
      // A large minimum leaf size leaves children that cannot split, whose slots are let go.
      for (const [countRows, minSamplesLeaf] of [
        [false, 1],
        [true, 40],
        [true, 2000],
      ] as const) {
        const grow = (threads: number) => {
          const { space, random: r } = randomSpace({
            n,
            binCounts,
            seed: 9,
            countRows,
            slotCount: slotCount(maxDepth),
            jobCapacity: levelWidth(maxDepth),
            storage: threads > 1 ? sharedStorage : plainStorage,
          });
          const { columns, bins, binStart, width } = space;
          for (let i = 0; i < n; i++) {
            columns[4 * n + i] = columns[i]!;
            bins[i * width + 4] = binStart[4]! + columns[i]!;
          }
          for (let i = 0; i < n; i++) {
            // Steps of 64 bins along feature 0 (and its copy): nodes on every level split on it, and
            // each level's smaller children hold enough rows for their searches to be shared.
            space.gh[2 * i] =
              (Math.floor(columns[i]! / 64) % 2) - 0.5 + (0.1 * columns[n + i]!) / 255 + 0.2 * (r() - 0.5);
            space.gh[2 * i + 1] = 0.25;
          }
          const rows = Uint32Array.from({ length: n / 2 }, (_, k) => 2 * k);
          const settings = {
            maxDepth,
            minChildWeight: 1,
            minSamplesLeaf,
            minSplitGain: 0,
            lambda: 1,
            learningRate: 0.1,
            countRows,
          };
          const { tree, leafOf, released } = growTree(space, threads, features, settings, rows, [0, 1, 3, 4]);
          if (minSamplesLeaf === 2000) expect(released).toBeGreaterThan(0);
          return { tree, leafOf };
        };
        const one = grow(1);
        expect(grow(2)).toEqual(one);
        expect(grow(3)).toEqual(one);
        // Splits on feature 0, never on its copy (the first of equal gains wins), and none on 2.
        const used = new Set(one.tree.binFeature.filter((f) => f >= 0));
        expect(used.has(0)).toBe(true);
        expect(used.has(4)).toBe(false);
        expect(used.has(2)).toBe(false);
      }
    },
    SLOW,
  );
});
