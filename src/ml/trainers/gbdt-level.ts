import { buildHistogramPart, type HistogramSpace, JOB_WORDS } from './gbdt-histogram.js';

/*
 * The work of one tree level, as lists of jobs in shared memory that any number of threads split
 * between them: one hand-off to the workers per step of a level instead of one per node.
 *
 * - Row jobs (one per node of the level): partition a split node's rows, label the rows of a node
 *   whose children are leaves, or label the rows of a leaf. Threads take whole nodes (contiguous
 *   shares of the level's rows); a node's result depends on its rows alone.
 * - Histogram jobs (one per child that gets a histogram): sum the smaller child's rows, then take
 *   it from the parent's slot, which becomes the larger child's. Threads take shares of the
 *   features, as single builds do; each feature is still one thread's sum over the rows in order.
 *
 * Either way the bits do not depend on the thread count, nor on growing level by level rather than
 * node by node: every histogram sums the same rows in the same order.
 */

/** Fields of a row job. */
export const RowJob = {
  begin: 0,
  end: 1,
  /** Split feature, or -1: a leaf, whose rows all get leafOf = left. */
  feature: 2,
  bin: 3,
  /** 1: bin <= split goes left; 0 (categorical): bin != split goes left. */
  numeric: 4,
  /** Leaf id of the left child (or of the leaf itself). */
  left: 5,
  /** Leaf id of the right child; -1: partition the rows instead of labelling them. */
  right: 6,
  /** Out: where a partitioned node's right rows start. */
  mid: 7,
} as const;

/** Fields of a histogram job. */
export const HistogramJob = { slot: 0, begin: 1, end: 2, /** -1: no subtraction. */ parent: 3 } as const;

/** The row jobs of `count` whose node midpoints fall in thread `part` of `parts`'s share of the rows. */
export function rowJobsPart(hs: HistogramSpace, count: number, part: number, parts: number): void {
  const { jobs } = hs;
  if (count === 0) return;
  const first = jobs[RowJob.begin]!;
  const span = jobs[(count - 1) * JOB_WORDS + RowJob.end]! - first;
  for (let j = 0; j < count; j++) {
    const o = j * JOB_WORDS;
    const begin = jobs[o + RowJob.begin]!;
    const end = jobs[o + RowJob.end]!;
    // Midpoints are ascending (nodes are laid out in order), so every share is a run of nodes.
    const owner =
      span === 0 ? 0 : Math.min(parts - 1, Math.floor((parts * (begin + end - 2 * first)) / (2 * span)));
    if (owner !== part) continue;
    const feature = jobs[o + RowJob.feature]!;
    const left = jobs[o + RowJob.left]!;
    if (feature < 0) {
      const { index } = hs;
      const leafOf = hs.leafOf;
      for (let k = begin; k < end; k++) leafOf[index[k]!] = left;
      continue;
    }
    const bin = jobs[o + RowJob.bin]!;
    const numeric = jobs[o + RowJob.numeric] === 1;
    const right = jobs[o + RowJob.right]!;
    if (right < 0) jobs[o + RowJob.mid] = partition(hs, begin, end, feature * hs.n, bin, numeric);
    else labelLeaves(hs, begin, end, feature * hs.n, bin, numeric, left, right);
  }
}

/** Histogram jobs [0, count) for the chosen features c0..c1-1: build, then subtract from the parent. */
export function histogramJobsPart(hs: HistogramSpace, count: number, c0: number, c1: number): void {
  const { jobs } = hs;
  for (let j = 0; j < count; j++) {
    const o = j * JOB_WORDS;
    const slot = jobs[o + HistogramJob.slot]!;
    buildHistogramPart(hs, slot, jobs[o + HistogramJob.begin]!, jobs[o + HistogramJob.end]!, c0, c1);
    const parent = jobs[o + HistogramJob.parent]!;
    if (parent >= 0) subtractPart(hs, parent, slot, c0, c1);
  }
}

/** slot[large] -= slot[small] over the chosen features c0..c1-1. */
function subtractPart(hs: HistogramSpace, large: number, small: number, c0: number, c1: number): void {
  const { slots, size, stride, binStart, chosen } = hs;
  const a = large * size;
  const b = small * size;
  for (let c = c0; c < c1; c++) {
    const f = chosen[c]!;
    for (let k = stride * binStart[f]!, to = stride * binStart[f + 1]!; k < to; k++)
      slots[a + k] = slots[a + k]! - slots[b + k]!;
  }
}

/** Sets leafOf of index[begin, end) to the leaf each row falls in under the split. */
function labelLeaves(
  hs: HistogramSpace,
  begin: number,
  end: number,
  column: number,
  bin: number,
  numeric: boolean,
  leftId: number,
  rightId: number,
): void {
  const { index, columns } = hs;
  const leafOf = hs.leafOf;
  for (let k = begin; k < end; k++) {
    const i = index[k]!;
    const v = columns[column + i]!;
    leafOf[i] = (numeric ? v <= bin : v !== bin) ? leftId : rightId;
  }
}

/**
 * Stable in-place partition of index[begin, end); returns where the right rows start. Branch-free:
 * each row is written to both sides and only one cursor moves, since which way a row goes is a coin
 * toss to the processor's branch predictor.
 */
function partition(
  hs: HistogramSpace,
  begin: number,
  end: number,
  column: number,
  bin: number,
  numeric: boolean,
): number {
  const { index, columns } = hs;
  const scratch = hs.scratch;
  let l = begin;
  let r = begin;
  if (numeric) {
    for (let k = begin; k < end; k++) {
      const i = index[k]!;
      // 1 when the row's bin is above the split's (bins are far below 2^31).
      const right = (bin - columns[column + i]!) >>> 31;
      index[l] = i;
      scratch[r] = i;
      l += 1 - right;
      r += right;
    }
  } else {
    // The rows of category `bin` go right (one-hot column > 0.5).
    for (let k = begin; k < end; k++) {
      const i = index[k]!;
      // 1 when the row's bin equals the split's: (0 - 1) >>> 31.
      const right = ((columns[column + i]! ^ bin) - 1) >>> 31;
      index[l] = i;
      scratch[r] = i;
      l += 1 - right;
      r += right;
    }
  }
  index.set(scratch.subarray(begin, r), l);
  return l;
}
