import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import { binJobDone, createBinJob } from './gbdt-bins.js';
import { Command, Control } from './gbdt-control.js';
import { bytesOf, randomSpace, SLOW } from './gbdt-fixtures.js';
import { buildHistogramPart, gradientSumsByChunks } from './gbdt-histogram.js';
import { expKernelPlatform, marginKernels } from './gbdt-kernels.js';
import {
  finishRowJobs,
  HistogramJob,
  histogramJobsPart,
  RowJob,
  resultAt,
  rowJobsPart,
} from './gbdt-level.js';
import { gbdtPool } from './gbdt-pool.js';
import { createRowSpace, setTree } from './gbdt-rows.js';
import {
  createHistogramSpace,
  DENSE_CHUNKS,
  type HistogramSpace,
  JOB_WORDS,
  plainStorage,
  type Storage,
  sharedStorage,
} from './gbdt-space.js';
import { bestOfParts, SplitSetting } from './gbdt-split.js';
import { localHistograms, MIN_PARALLEL_ROW_JOB_ROWS, threadedHistograms } from './gbdt-threads.js';

/** A row job of a test level: a node's end (it starts where the last ended) and its split. */
interface LevelNodeJob {
  end: number;
  feature: number;
  bin: number;
  numeric: number;
  right: number;
}

/** A space over random bins whose index is 0..n-1 and whose row jobs are `nodes`, in order. */
function levelSpace(
  n: number,
  binCounts: number[],
  seed: number,
  nodes: LevelNodeJob[],
  storage: Storage,
  slotCount = 1,
) {
  const { space } = randomSpace({
    n,
    binCounts,
    seed,
    countRows: false,
    slotCount,
    jobCapacity: nodes.length,
    storage,
  });
  space.index.set(Uint32Array.from({ length: n }, (_, i) => i));
  let begin = 0;
  nodes.forEach((node, j) => {
    // mid -1: not yet in place (the grower's job words, gbdt-level.ts RowJob).
    space.jobs.set(
      [begin, node.end, node.feature, node.bin, node.numeric, j + 1, node.right, -1],
      j * JOB_WORDS,
    );
    begin = node.end;
  });
  return space;
}

/** The split search's settings for a test space: lambda 1, minimum weight and leaf 1, feature 1 categorical. */
function setSearch(space: HistogramSpace, binCounts: number[]): void {
  space.splitSettings[SplitSetting.lambda] = 1;
  space.splitSettings[SplitSetting.minChildWeight] = 1;
  space.splitSettings[SplitSetting.minSamplesLeaf] = 1;
  binCounts.forEach((count, f) => {
    space.splitBinCount[f] = count;
    space.splitNumeric[f] = f === 1 ? 0 : 1;
  });
}

describe('threaded histograms', () => {
  it(
    'workers fill the same histogram bits as the calling thread alone',
    () => {
      const n = 100_000;
      const binCounts = [256, 7, 256, 40, 256, 3, 256];
      for (const countRows of [false, true]) {
        const { space, random: r } = randomSpace({
          n,
          binCounts,
          seed: 3,
          countRows,
          slotCount: 2,
          storage: sharedStorage,
          threads: 4,
        });
        for (let i = 0; i < n; i++) {
          space.gh[2 * i] = r() - 0.5;
          space.gh[2 * i + 1] = r();
        }
        const slot = (k: number) =>
          Buffer.from(space.slots.buffer, space.slots.byteOffset + 8 * k * space.size, 8 * space.size);
        // 2 threads take a dense node's row chunks (DENSE_CHUNKS) one each; 3 share one chunk's
        // features, 4 both chunks'.
        for (const threads of [2, 3, 4]) {
          const threaded = threadedHistograms(space, threads);
          try {
            // Builds before the workers are up run on this thread alone; wait so that they take part.
            expect(threaded.waitReady(SLOW / 2)).toBe(true);
            // A dense node (every other row: the row-major pass, in row chunks) and a sparse one
            // (every fourth row from 2,000 on, a fifth of the rows: the column pass); all features
            // in order, then in a shuffled order (as colsample draws them).
            for (const rows of [
              Uint32Array.from({ length: 45_000 }, (_, k) => 1_000 + 2 * k),
              Uint32Array.from({ length: 20_000 }, (_, k) => 2_000 + 4 * k),
            ]) {
              space.index.set(rows);
              // The third: on 3 threads, one share of the first chunk's features is in order (the
              // kernel's pass, which sums the rows), the other and the second chunk's are not.
              for (const chosen of [
                [0, 1, 2, 3, 4, 5, 6],
                [5, 0, 3, 6, 1, 2, 4],
                [0, 1, 2, 3, 5, 4, 6],
              ]) {
                space.chosen.set(chosen);
                space.slots.fill(0);
                // The root's (g, h) as the grower takes them: from the build, or summed apart.
                const rootSums = (summed: boolean) =>
                  summed
                    ? Array.from(space.rowSums.subarray(0, 2))
                    : gradientSumsByChunks(space, 0, rows.length);
                space.rowSums.fill(0);
                const summed = localHistograms(space).build(0, 0, rows.length, 7);
                const sums = rootSums(summed);
                space.rowSums.fill(0);
                const threadedSummed = threaded.build(1, 0, rows.length, 7);
                expect(slot(1).equals(slot(0))).toBe(true);
                expect(space.slots.subarray(0, space.size).some((v) => v !== 0)).toBe(true);
                // The same bits whoever summed them; 2 threads, each with whole chunks, keep the
                // build's sums wherever one thread does (3, sharing a chunk's features, may not).
                expect(rootSums(threadedSummed)).toEqual(sums);
                expect(sums).toEqual(gradientSumsByChunks(space, 0, rows.length));
                if (threads === 2) expect(threadedSummed).toBe(summed);
                // In order, without row counts, the dense node takes the kernel's pass, which sums
                // the rows (where there are kernels): the path above is taken, not only its fallback.
                const inOrder = chosen.every((f, k) => f === k);
                if (space.memory !== undefined && !countRows && rows.length === 45_000 && inOrder)
                  expect(summed).toBe(true);
              }
            }
            expect(threaded.parallelBuilds).toBe(6);
          } finally {
            threaded.close();
          }
        }
      }
    },
    SLOW,
  );

  it('sums dense and sparse nodes bit for bit as a plain loop over their rows does', () => {
    const n = 100_000;
    const binCounts = [255, 4, 255, 255, 9];
    const { space, random: r } = randomSpace({
      n,
      binCounts,
      seed: 9,
      countRows: false,
      slotCount: 1,
      storage: plainStorage,
    });
    for (let i = 0; i < 2 * n; i++) space.gh[i] = r() - 0.3;
    space.chosen.set([0, 1, 2, 3, 4]);
    // 40% of the rows (the row-major pass, in DENSE_CHUNKS row chunks added up in order) and 7.5%
    // (the column pass, all rows at once).
    for (const [step, chunks] of [
      [2.5, DENSE_CHUNKS],
      [13, 1],
    ] as const) {
      const rows = Uint32Array.from({ length: Math.floor(n / step) }, (_, k) => Math.floor(k * step));
      space.index.set(rows);
      localHistograms(space).build(0, 0, rows.length, 5);
      const expected = new Float64Array(space.size);
      for (let c = 0; c < chunks; c++) {
        const chunk = new Float64Array(space.size);
        const [b0, b1] = [c, c + 1].map((k) => Math.floor((k * rows.length) / chunks));
        for (const i of rows.subarray(b0, b1)) {
          for (let f = 0; f < binCounts.length; f++) {
            const b = 2 * (space.binStart[f]! + space.columns[f * n + i]!);
            chunk[b] = chunk[b]! + space.gh[2 * i]!;
            chunk[b + 1] = chunk[b + 1]! + space.gh[2 * i + 1]!;
          }
        }
        for (let b = 0; b < space.size; b++) expected[b] = c === 0 ? chunk[b]! : expected[b]! + chunk[b]!;
      }
      expect(
        Buffer.from(space.slots.buffer, space.slots.byteOffset, 8 * space.size).equals(
          Buffer.from(expected.buffer),
        ),
      ).toBe(true);
    }
  });
});

describe('row steps', () => {
  it('partitions and labels a level alike whether one thread or many cut through its nodes', () => {
    const n = 5_000;
    const binCounts = [255, 6, 40];
    // Nodes of every kind and size, so that shares start and end inside them, or hold none of one.
    const nodes = [
      { end: 1_800, feature: 0, bin: 120, numeric: 1, right: -1 },
      { end: 1_803, feature: 1, bin: 2, numeric: 0, right: -1 },
      { end: 2_900, feature: -1, bin: 0, numeric: 0, right: -1 },
      { end: 4_100, feature: 2, bin: 17, numeric: 1, right: 9 },
      { end: 5_000, feature: 1, bin: 4, numeric: 0, right: -1 },
    ];
    const run = (parts: number) => {
      const space = levelSpace(n, binCounts, 5, nodes, plainStorage);
      for (let part = 0; part < parts; part++) rowJobsPart(space, nodes.length, part, parts);
      finishRowJobs(space, nodes.length, parts);
      const mids = nodes.map((_, j) => space.jobs[j * JOB_WORDS + RowJob.mid]!);
      return { index: Array.from(space.index), leafOf: Array.from(space.leafOf), mids };
    };
    const one = run(1);
    // The stable partition of the first node, written out.
    const { space } = randomSpace({
      n,
      binCounts,
      seed: 5,
      countRows: false,
      slotCount: 1,
      storage: plainStorage,
    });
    const rows = Array.from({ length: 1_800 }, (_, i) => i);
    const goesLeft = (i: number) => space.columns[i]! <= 120;
    expect(one.index.slice(0, 1_800)).toEqual([
      ...rows.filter(goesLeft),
      ...rows.filter((i) => !goesLeft(i)),
    ]);
    expect(one.mids[0]).toBe(rows.filter(goesLeft).length);
    for (const parts of [2, 3, 7, 16, 40]) expect(run(parts)).toEqual(one);
  });
});

describe('histogram jobs', () => {
  it("share a level's jobs between any number of parts to the same sums and splits as one part", () => {
    const n = 6_000;
    const binCounts = [255, 6, 40, 255];
    // Parents [begin, end) whose smaller child is [begin, mid): big and small jobs (the 100-row one
    // takes the sparse column pass), one whose larger child is not searched.
    const jobs = [
      { begin: 0, mid: 1_100, end: 2_500, search: 3 },
      { begin: 2_500, mid: 2_600, end: 2_700, search: 3 },
      { begin: 2_700, mid: 3_900, end: 5_200, search: 1 },
      { begin: 5_200, mid: 5_500, end: 6_000, search: 3 },
    ];
    const run = (parts: number, chosen: number[]) => {
      const { space, random: r } = randomSpace({
        n,
        binCounts,
        seed: 8,
        countRows: false,
        slotCount: 2 * jobs.length,
        jobCapacity: jobs.length,
        storage: plainStorage,
        threads: 8,
      });
      for (let i = 0; i < n; i++) {
        // The first half's gradients step on feature 0, the second half's on feature 3.
        const signal = i < n / 2 ? space.columns[i]! : space.columns[3 * n + i]!;
        space.gh[2 * i] = r() - 0.5 + (signal > 128 ? 0.4 : 0);
        space.gh[2 * i + 1] = 0.25 + r();
      }
      space.index.set(Uint32Array.from({ length: n }, (_, i) => i));
      space.chosen.set(chosen);
      setSearch(space, binCounts);
      const sums = (from: number, to: number) => {
        let g = 0;
        let h = 0;
        for (let i = from; i < to; i++) {
          g += space.gh[2 * i]!;
          h += space.gh[2 * i + 1]!;
        }
        return [g, h];
      };
      jobs.forEach((job, j) => {
        // The parent's histogram in slot jobs.length + j, the smaller child's to come in slot j.
        const parent = jobs.length + j;
        buildHistogramPart(space, parent, job.begin, job.end, 0, chosen.length);
        const o = j * JOB_WORDS;
        space.jobs[o + HistogramJob.slot] = j;
        space.jobs[o + HistogramJob.begin] = job.begin;
        space.jobs[o + HistogramJob.end] = job.mid;
        space.jobs[o + HistogramJob.parent] = parent;
        space.jobs[o + HistogramJob.search] = job.search;
        space.jobs[o + HistogramJob.largeCount] = job.end - job.mid;
        space.jobSums.set([...sums(job.begin, job.mid), ...sums(job.mid, job.end)], 4 * j);
      });
      for (let part = 0; part < parts; part++)
        histogramJobsPart(space, jobs.length, chosen.length, part, parts);
      const splits = jobs.flatMap((_, j) =>
        ([0, 1] as const).map((side) =>
          bestOfParts(space, space.splitResults, resultAt(space.splitParts, j, side, 0), parts),
        ),
      );
      return { slots: bytesOf(space.slots).toString('hex'), splits };
    };
    for (const chosen of [
      [0, 1, 2, 3],
      [3, 0],
    ]) {
      const one = run(1, chosen);
      // Every searched child found a split, on more than one feature: the joins had work to do.
      const found = one.splits.filter((s) => s !== undefined);
      expect(found.length).toBe(7);
      if (chosen.length > 2) expect(new Set(found.map((s) => s!.feature)).size).toBeGreaterThan(1);
      // Up to more parts than the jobs have (job, feature) units.
      for (const parts of [2, 3, 5, 8]) expect(run(parts, chosen)).toEqual(one);
    }
  });
});

describe('threaded row steps', () => {
  it(
    'workers partition and label a level as the calling thread does, from the size where they take part',
    () => {
      // A level just above the size from which row jobs go to the workers.
      const n = MIN_PARALLEL_ROW_JOB_ROWS + 7_000;
      const binCounts = [255, 6];
      const nodes = [
        { end: 100_000, feature: 0, bin: 120, numeric: 1, right: -1 },
        { end: 180_000, feature: 1, bin: 2, numeric: 0, right: -1 },
        { end: 200_000, feature: -1, bin: 0, numeric: 0, right: -1 },
        { end: n, feature: 0, bin: 30, numeric: 1, right: 9 },
      ];
      const run = (threads: number) => {
        const space = levelSpace(n, binCounts, 12, nodes, threads > 1 ? sharedStorage : plainStorage);
        const threaded = threads > 1 ? threadedHistograms(space, threads) : undefined;
        const steps = threaded ?? localHistograms(space);
        try {
          if (threaded) expect(threaded.waitReady(SLOW / 2)).toBe(true);
          steps.rowJobs(nodes.length);
        } finally {
          steps.close();
        }
        const mids = nodes.map((_, j) => space.jobs[j * JOB_WORDS + RowJob.mid]!);
        return { index: bytesOf(space.index), leafOf: bytesOf(space.leafOf), mids };
      };
      const one = run(1);
      expect(one.mids[0]).toBeGreaterThan(0);
      const three = run(3);
      expect(three.index.equals(one.index)).toBe(true);
      expect(three.leafOf.equals(one.leafOf)).toBe(true);
      expect(three.mids).toEqual(one.mids);
    },
    SLOW,
  );

  it(
    'a level in one hand-off: workers partition their shares, then build the histogram jobs written over the joined rows, to the same bits as one thread',
    () => {
      const n = 60_000;
      const binCounts = [255, 6, 40, 255];
      // Partitioned nodes cut by the threads' shares, a leaf and a labelled node between them.
      const nodes = [
        { end: 27_000, feature: 0, bin: 120, numeric: 1, right: -1 },
        { end: 30_000, feature: -1, bin: 0, numeric: 0, right: -1 },
        { end: 41_000, feature: 1, bin: 2, numeric: 0, right: -1 },
        { end: 45_000, feature: 2, bin: 17, numeric: 1, right: 9 },
        { end: n, feature: 3, bin: 60, numeric: 1, right: -1 },
      ];
      const partitioned = [0, 2, 4];
      /**
       * 'all': a histogram job for each partitioned node's left rows; 'small': one job of 2,000
       * rows, too few to share; 'fail': the callback throws; 'worker fails': the last node's
       * feature lies past the memory, so the worker whose share holds it traps.
       */
      type Variant = 'all' | 'small' | 'fail' | 'worker fails';
      const run = (threads: number, variant: Variant = 'all') => {
        const levelNodes =
          variant === 'worker fails'
            ? nodes.map((node, j) => (j === 4 ? { ...node, feature: 90_000 } : node))
            : nodes;
        const storage = threads > 1 ? sharedStorage : plainStorage;
        const space = levelSpace(n, binCounts, 9, levelNodes, storage, 3);
        const r = seededRandom(10);
        for (let i = 0; i < 2 * n; i += 2) space.gh.set([r() - 0.5, 0.25 + r()], i);
        space.chosen.set([3, 0, 2, 1]);
        setSearch(space, binCounts);
        const threaded = threads > 1 ? threadedHistograms(space, threads) : undefined;
        const steps = threaded ?? localHistograms(space);
        let mids: number[] = [];
        try {
          if (threaded) expect(threaded.waitReady(SLOW / 2)).toBe(true);
          const parts = steps.levelJobs(nodes.length, 4, () => {
            // Every row job is done and joined by now: each partitioned node has its mid, and the
            // workers are still inside the same hand-off, waiting for the jobs.
            mids = nodes.map((_, j) => space.jobs[j * JOB_WORDS + RowJob.mid]!);
            if (threaded) expect(gbdtPool(threads - 1).control[Control.command]).toBe(Command.level);
            if (variant === 'fail') throw new Error('a planted failure');
            const jobs = variant === 'small' ? [0] : partitioned;
            // Over the row jobs, in place: each job's left rows, searched.
            jobs.forEach((j, k) => {
              const begin = j === 0 ? 0 : nodes[j - 1]!.end;
              const end = variant === 'small' ? begin + 2_000 : mids[j]!;
              let g = 0;
              let h = 0;
              for (let at = begin; at < end; at++) {
                g += space.gh[2 * space.index[at]!]!;
                h += space.gh[2 * space.index[at]! + 1]!;
              }
              space.jobs.set([k, begin, end, -1, 1, 0], k * JOB_WORDS);
              space.jobSums.set([g, h, 0, 0], 4 * k);
            });
            return jobs.length;
          });
          const shared = variant === 'all' ? threads : 1;
          expect(parts).toBe(shared);
          if (threaded) {
            expect(threaded.levelHandOffs).toBe(1);
            expect(threaded.parallelBuilds).toBe(shared > 1 ? 1 : 0);
          }
          const splits = (variant === 'small' ? [0] : partitioned).map((_, k) =>
            bestOfParts(space, space.splitResults, resultAt(space.splitParts, k, 0, 0), parts),
          );
          return {
            index: bytesOf(space.index),
            leafOf: bytesOf(space.leafOf),
            slots: bytesOf(space.slots),
            mids,
            splits,
          };
        } finally {
          steps.close();
        }
      };
      const one = run(1);
      for (const j of partitioned) expect(one.mids[j]).toBeGreaterThan(j === 0 ? 0 : nodes[j - 1]!.end);
      expect(one.splits.every((split) => split !== undefined)).toBe(true);
      const three = run(3);
      expect(three.index.equals(one.index)).toBe(true);
      expect(three.leafOf.equals(one.leafOf)).toBe(true);
      expect(three.slots.equals(one.slots)).toBe(true);
      expect(three).toEqual(one);
      // Jobs too small to share stay on the calling thread, to the same bits.
      expect(run(3, 'small')).toEqual(run(1, 'small'));
      // A failure between the two steps reaches the caller and leaves no worker waiting for
      // histogram jobs: the next level runs on the same workers. (Were a worker left waiting, the
      // next command would wait for it until COMMAND_TIMEOUT_MS, far past this test's timeout.)
      const pool = gbdtPool(2);
      expect(() => run(3, 'fail')).toThrow('a planted failure');
      expect(run(3)).toEqual(one);
      expect(gbdtPool(2)).toBe(pool);
      // A worker that fails in its share of the row jobs: the calling thread, waiting for the
      // shares, throws with its message, and the pool is ended (the next fit starts another).
      expect(() => run(3, 'worker fails')).toThrow(
        /gbdt: a worker thread failed: .*memory access out of bounds/,
      );
      expect(gbdtPool(2)).not.toBe(pool);
      expect(run(3)).toEqual(one);
    },
    SLOW,
  );

  it(
    'workers and the margin kernel compute the same gradients and margins as the JavaScript loop on the calling thread',
    () => {
      const n = 40_000;
      const binCounts = [256, 5, 256];
      const r = seededRandom(5);
      const y = Float64Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
      // Three quarters of the rows train; a depth-2 tree: numeric split at the root, categorical below.
      const trainRows = Uint32Array.from({ length: 30_000 }, (_, k) => k + Math.floor(k / 3));
      const tree = {
        binFeature: Int32Array.from([0, 1, -1, -1, 2, -1, -1]),
        splitBin: Int32Array.from([100, 3, -1, -1, 40, -1, -1]),
        left: Int32Array.from([1, 2, -1, -1, 5, -1, -1]),
        right: Int32Array.from([4, 3, -1, -1, 6, -1, -1]),
        // Leaf 6 adds -0, which leaves every margin as it is (x + -0 is x, -0 included).
        value: Float64Array.from([0, 0, 0.11, -0.07, 0, 0.031, -0]),
      };
      const init = Float64Array.from({ length: n }, () => r() * 4 - 2);
      // The leaves the grower would leave for 9 in 10 training rows (the others are walked).
      const leaves = Int32Array.from({ length: n }, () =>
        r() < 0.9 ? [2, 3, 5, 6][Math.floor(r() * 4)]! : -1,
      );
      // Margins past every branch of exp (and -1, whose exp(1) V8 special-cases), on training rows
      // in leaf 6: the margin kernel's exp sees them exactly, in the gradients it folds in.
      const edges = [0, -0, 1, -1, 1e-9, 0.35, -0.35, 1.04, -1.04, 30, -30, 708, -708, 709.8, -745.2, 800];
      edges.forEach((edge, k) => {
        init[trainRows[k]!] = edge;
        leaves[trainRows[k]!] = 6;
      });
      const run = (threads: number, regression: boolean, kernels: boolean) => {
        const storage = threads > 1 ? sharedStorage : plainStorage;
        const { space } = randomSpace({
          n,
          binCounts,
          seed: 6,
          countRows: false,
          slotCount: 1,
          storage,
          kernels,
          rows: { kc: 1, treeCapacity: 7 },
        });
        // The margin kernel runs on x64 only (gbdt-kernels.ts marginKernels).
        expect(space.memory !== undefined && marginKernels(space.memory) !== undefined).toBe(
          kernels && expKernelPlatform(),
        );
        const rows = createRowSpace({
          kc: 1,
          y,
          trainRows,
          space,
          numeric: [true, false, true],
          trackAll: true,
          storage,
        });
        rows.margin.set(init);
        const grown = () => {
          for (const i of trainRows) space.leafOf[i] = leaves[i]!;
        };
        const threaded = threads > 1 ? threadedHistograms(space, threads, rows) : undefined;
        const steps = threaded ?? localHistograms(space, rows);
        try {
          if (threaded) expect(threaded.waitReady(SLOW / 2)).toBe(true);
          steps.gradients(regression);
          setTree(rows, tree);
          grown();
          steps.margins(0);
          expect(space.leafOf.every((leaf) => leaf === -1)).toBe(true);
          // The margin step that also gives the next gradients: the same bits as a gradient step after it.
          grown();
          steps.margins(0, regression ? 'squared' : 'logloss');
          const folded = Buffer.from(space.gh.slice().buffer);
          steps.gradients(regression);
          expect(bytesOf(space.gh).equals(folded)).toBe(true);
        } finally {
          steps.close();
        }
        return Buffer.concat([space.gh, rows.margin].map(bytesOf));
      };
      for (const regression of [false, true]) {
        const one = run(1, regression, false);
        expect(run(1, regression, true).equals(one)).toBe(true);
        expect(run(3, regression, true).equals(one)).toBe(true);
        expect(run(3, regression, false).equals(one)).toBe(true);
        // The margins moved: every row got one of the tree's leaf values.
        expect(one.subarray(16 * n).equals(Buffer.from(init.buffer))).toBe(false);
      }
    },
    SLOW,
  );
});

describe('threaded binning', () => {
  it(
    'features binned by worker threads get the same thresholds and bins as on the calling thread',
    () => {
      const n = 30_000;
      const r = seededRandom(11);
      // Continuous, few distinct values, and heavy ties: the three shapes the quantile cuts handle.
      const numeric = [
        Float64Array.from({ length: n }, () => r() * 100 - 50),
        Float64Array.from({ length: n }, () => Math.floor(r() * 12)),
        Float64Array.from({ length: n }, () => (r() < 0.7 ? 0 : Math.fround(r() * 5))),
      ];
      const x = { n, numeric, codes: [] };
      const trainRows = Uint32Array.from({ length: 20_000 }, (_, k) => k + Math.floor(k / 2));
      const bin = (threads: number) => {
        const storage = threads > 1 ? sharedStorage : plainStorage;
        const space = createHistogramSpace({
          n,
          binCounts: [255, 255, 255],
          countRows: false,
          slotCount: 1,
          jobCapacity: 1,
          threads,
          storage,
        });
        const job = createBinJob({ x, trainRows, maxBin: 255, columns: space.columns, storage });
        const threaded = threads > 1 ? threadedHistograms(space, threads, undefined, job) : undefined;
        const steps = threaded ?? localHistograms(space);
        try {
          // Workers bin what is left when they come up, before they report ready: once they are,
          // nothing is left for this thread.
          if (threaded) {
            expect(threaded.waitReady(SLOW / 2)).toBe(true);
            expect(binJobDone(job)).toBe(true);
          }
          steps.binning(job);
        } finally {
          steps.close();
        }
        return { job, columns: bytesOf(space.columns) };
      };
      const one = bin(1);
      const three = bin(3);
      expect(three.columns.equals(one.columns)).toBe(true);
      expect(Buffer.from(three.job.thresholds.buffer).equals(Buffer.from(one.job.thresholds.buffer))).toBe(
        true,
      );
      expect([...three.job.thresholdCounts]).toEqual([...one.job.thresholdCounts]);
      expect(one.job.thresholdCounts[1]).toBe(11);
    },
    SLOW,
  );
});
