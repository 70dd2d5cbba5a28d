import { buildHistogramPart, kernelSubtract } from './gbdt-histogram.js';
import { histogramKernels } from './gbdt-kernels.js';
import { type HistogramSpace, JOB_WORDS, ROW_CHUNKS } from './gbdt-space.js';

/*
 * The work of one tree level, as lists of jobs in shared memory that any number of threads split
 * between them: one hand-off to the workers per step of a level instead of one per node.
 *
 * - Row jobs (one per node of the level): partition a split node's rows, label the rows of a node
 *   whose children are leaves, or label the rows of a leaf. Threads take equal contiguous shares of
 *   the level's rows, cutting through nodes; the pieces of a partitioned node are joined in order
 *   afterwards, which gives the node's stable partition whoever did which piece.
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

/**
 * Thread `part` of `parts`'s share of the row jobs [0, count): the `part`-th contiguous share of the
 * level's rows, whichever nodes it cuts through, so even a level of one node (the root) keeps every
 * thread busy. A split node's piece of the share is partitioned in place (its left rows first, its
 * right rows to scratch at the same offset), its left count kept for finishRowJobs, which joins the
 * pieces once every share is done; labels are written at once.
 */
export function rowJobsPart(hs: HistogramSpace, count: number, part: number, parts: number): void {
  const { jobs } = hs;
  const chunks = Math.min(parts, ROW_CHUNKS);
  if (count === 0 || part >= chunks) return;
  const [r0, r1] = rowShare(jobs, count, part, chunks);
  for (let j = 0; j < count; j++) {
    const o = j * JOB_WORDS;
    const begin = Math.max(jobs[o + RowJob.begin]!, r0);
    const end = Math.min(jobs[o + RowJob.end]!, r1);
    const feature = jobs[o + RowJob.feature]!;
    const right = jobs[o + RowJob.right]!;
    const partitioned = feature >= 0 && right < 0;
    if (begin >= end) {
      if (partitioned) hs.chunkLefts[j * ROW_CHUNKS + part] = 0;
      continue;
    }
    const left = jobs[o + RowJob.left]!;
    if (feature < 0) {
      const { index, leafOf } = hs;
      for (let k = begin; k < end; k++) leafOf[index[k]!] = left;
      continue;
    }
    const bin = jobs[o + RowJob.bin]!;
    const numeric = jobs[o + RowJob.numeric] === 1;
    if (partitioned)
      hs.chunkLefts[j * ROW_CHUNKS + part] = partition(hs, begin, end, feature * hs.n, bin, numeric) - begin;
    else labelLeaves(hs, begin, end, feature * hs.n, bin, numeric, left, right);
  }
}

/**
 * Joins the pieces rowJobsPart left of every partitioned node (after all `parts` shares are done):
 * its left rows in share order, then its right rows from scratch in share order, which is the
 * stable partition of the whole node; sets each one's mid.
 */
export function finishRowJobs(hs: HistogramSpace, count: number, parts: number): void {
  const { jobs, index, scratch, chunkLefts } = hs;
  const chunks = Math.min(parts, ROW_CHUNKS);
  for (let j = 0; j < count; j++) {
    const o = j * JOB_WORDS;
    if (jobs[o + RowJob.feature]! < 0 || jobs[o + RowJob.right]! >= 0) continue;
    const begin = jobs[o + RowJob.begin]!;
    const end = jobs[o + RowJob.end]!;
    // The left pieces move down (each to at most where it is), then the right ones follow.
    let at = begin;
    for (let p = 0; p < chunks; p++) {
      const [s0, s1] = rowShare(jobs, count, p, chunks);
      const from = Math.max(begin, s0);
      if (from >= Math.min(end, s1)) continue;
      const l = chunkLefts[j * ROW_CHUNKS + p]!;
      if (from !== at) index.copyWithin(at, from, from + l);
      at += l;
    }
    jobs[o + RowJob.mid] = at;
    for (let p = 0; p < chunks; p++) {
      const [s0, s1] = rowShare(jobs, count, p, chunks);
      const from = Math.max(begin, s0);
      const to = Math.min(end, s1);
      if (from >= to) continue;
      const r = to - from - chunkLefts[j * ROW_CHUNKS + p]!;
      index.set(scratch.subarray(from, from + r), at);
      at += r;
    }
  }
}

/** Share `part` of `chunks` of the rows the row jobs [0, count) cover (they are laid out in order). */
function rowShare(jobs: Int32Array, count: number, part: number, chunks: number): [number, number] {
  const first = jobs[RowJob.begin]!;
  const span = jobs[(count - 1) * JOB_WORDS + RowJob.end]! - first;
  return [first + Math.floor((part * span) / chunks), first + Math.floor(((part + 1) * span) / chunks)];
}

/**
 * Histogram jobs [0, count) for the chosen features c0..c1-1 (thread `part`'s share): build, then
 * subtract from the parent.
 */
export function histogramJobsPart(hs: HistogramSpace, count: number, c0: number, c1: number, part = 0): void {
  const { jobs } = hs;
  for (let j = 0; j < count; j++) {
    const o = j * JOB_WORDS;
    const slot = jobs[o + HistogramJob.slot]!;
    buildHistogramPart(hs, slot, jobs[o + HistogramJob.begin]!, jobs[o + HistogramJob.end]!, c0, c1, part);
    const parent = jobs[o + HistogramJob.parent]!;
    if (parent >= 0) subtractPart(hs, parent, slot, c0, c1);
  }
}

/** slot[large] -= slot[small] over the chosen features c0..c1-1. */
function subtractPart(hs: HistogramSpace, large: number, small: number, c0: number, c1: number): void {
  const { slots, size, stride, binStart, chosen } = hs;
  const a = large * size;
  const b = small * size;
  const kernels = hs.memory !== undefined && stride === 2 ? histogramKernels(hs.memory) : undefined;
  for (let c = c0; c < c1; c++) {
    const f = chosen[c]!;
    if (kernels !== undefined) {
      kernelSubtract(kernels, hs, large, small, f);
      continue;
    }
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
  if (hs.memory !== undefined && columns instanceof Uint8Array) {
    const k = histogramKernels(hs.memory);
    const p = index.byteOffset + 4 * begin;
    const label = numeric ? k.labelNumeric : k.labelCategory;
    label(p, p + 4 * (end - begin), columns.byteOffset + column, bin, leafOf.byteOffset, leftId, rightId);
    return;
  }
  for (let k = begin; k < end; k++) {
    const i = index[k]!;
    const v = columns[column + i]!;
    leafOf[i] = (numeric ? v <= bin : v !== bin) ? leftId : rightId;
  }
}

/**
 * Stable partition of index[begin, end): the left rows to index[begin, l), the right ones to
 * scratch[begin, begin + end - l) (finishRowJobs puts them back); returns l. Branch-free:
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
  if (hs.memory !== undefined && columns instanceof Uint8Array) {
    const k = histogramKernels(hs.memory);
    const p = index.byteOffset + 4 * begin;
    const split = numeric ? k.partitionNumeric : k.partitionCategory;
    const l = split(
      p,
      p + 4 * (end - begin),
      columns.byteOffset + column,
      bin,
      p,
      scratch.byteOffset + 4 * begin,
    );
    return (l - index.byteOffset) / 4;
  }
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
  return l;
}
