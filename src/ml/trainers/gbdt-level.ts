import { buildHistogramPart, kernelSubtract } from './gbdt-histogram.js';
import { histogramKernels } from './gbdt-kernels.js';
import { type HistogramSpace, JOB_WORDS, RESULT_DOUBLES, ROW_CHUNKS } from './gbdt-space.js';
import { searchSplit } from './gbdt-split.js';

/*
 * The work of one tree level, as lists of jobs in shared memory that any number of threads split
 * between them: one hand-off to the workers per level (the row jobs, then the histogram jobs
 * written over them; gbdt-threads.ts levelJobs) instead of one per node.
 *
 * - Row jobs (one per node of the level): partition a split node's rows, label the rows of a node
 *   whose children are leaves, or label the rows of a leaf. Threads take equal contiguous shares of
 *   the level's rows, cutting through nodes; the pieces of a partitioned node are joined in order
 *   afterwards, which gives the node's stable partition whoever did which piece.
 * - Histogram jobs (one per child that gets a histogram): sum the smaller child's rows, then take
 *   it from the parent's slot, which becomes the larger child's, then search both children's
 *   splits. Threads take equal shares of the level's (job, feature) units, whole jobs where they
 *   can (histogramJobsPart); each feature is still one thread's sum over the rows in order, and a
 *   job's shares' best splits are joined in feature order (gbdt-split.ts).
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
  /**
   * Out: where a partitioned node's right rows start; -1 (set by the grower) until a thread whose
   * share holds the whole node, or finishRowJobs, has put its rows in place.
   */
  mid: 7,
} as const;

/** Fields of a histogram job; its children's sums are in space.jobSums. */
export const HistogramJob = {
  slot: 0,
  begin: 1,
  end: 2,
  /** -1: no subtraction. */
  parent: 3,
  /**
   * Children to search for their split, bits: 1, the small one (in slot); 2, the large one (in
   * parent); 4 (the grower's), the small one is the left one.
   */
  search: 4,
  /** Rows of the large child. */
  largeCount: 5,
} as const;

/** Whether the row job at `o` partitions its node's rows (rather than labelling them with leaves). */
export function isPartition(jobs: Int32Array, o: number): boolean {
  return jobs[o + RowJob.feature]! >= 0 && jobs[o + RowJob.right]! < 0;
}

/**
 * Thread `part` of `parts`'s share of the row jobs [0, count): the `part`-th contiguous share of the
 * level's rows, whichever nodes it cuts through, so even a level of one node (the root) keeps every
 * thread busy. A split node's piece of the share is partitioned in place (its left rows first, its
 * right rows to scratch at the same offset), its left count kept for finishRowJobs, which joins the
 * pieces once every share is done; a node wholly inside the share is finished here (its right rows
 * back after its left ones, its mid set), so finishRowJobs joins only the few nodes that shares cut
 * through. Labels are written at once.
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
    const partitioned = isPartition(jobs, o);
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
    if (!partitioned) labelLeaves(hs, begin, end, feature * hs.n, bin, numeric, left, right);
    else {
      const l = partition(hs, begin, end, feature * hs.n, bin, numeric);
      if (begin === jobs[o + RowJob.begin] && end === jobs[o + RowJob.end]) {
        hs.index.set(hs.scratch.subarray(begin, begin + end - l), l);
        jobs[o + RowJob.mid] = l;
      } else hs.chunkLefts[j * ROW_CHUNKS + part] = l - begin;
    }
  }
}

/**
 * Joins the pieces rowJobsPart left of every partitioned node (after all `parts` shares are done):
 * its left rows in share order, then its right rows from scratch in share order, which is the
 * stable partition of the whole node; sets each one's mid (nodes a share held whole have theirs).
 */
export function finishRowJobs(hs: HistogramSpace, count: number, parts: number): void {
  const { jobs, index, scratch, chunkLefts } = hs;
  const chunks = Math.min(parts, ROW_CHUNKS);
  for (let j = 0; j < count; j++) {
    const o = j * JOB_WORDS;
    // Leaves, labelled nodes, and nodes one share held whole are done.
    if (!isPartition(jobs, o) || jobs[o + RowJob.mid]! >= 0) continue;
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
 * What a (job, feature) unit of a level's histogram work weighs beyond its rows: the feature's
 * subtraction and split searches, about as much as summing a thousand rows (it only balances the
 * threads' shares; the sums are the same whoever does them).
 */
const UNIT_SEARCH_ROWS = 1024;

/**
 * Thread `part` of `parts`'s share of the histogram jobs [0, count): the jobs' (job, chosen feature)
 * units in job order, then feature order, each weighing its job's rows, cut into equal contiguous
 * shares. A thread sums whole jobs where it can, reading each row once for all their features (a
 * share of the features of every job read each row once per thread, and the row reads, not the
 * cells, were most of the cost); a job is cut between threads, by its features, only where a share
 * ends. For each job: build its features of the share, subtract them from the parent, then search
 * them in the children that may split (results by part in splitResults, for bestOfParts; a part
 * with none of a job's features leaves "no split" there).
 */
export function histogramJobsPart(
  hs: HistogramSpace,
  count: number,
  chosenCount: number,
  part: number,
  parts: number,
): void {
  const { jobs, jobSums, splitResults, splitParts } = hs;
  let total = 0;
  for (let j = 0, o = 0; j < count; j++, o += JOB_WORDS) total += unitWeight(jobs, o) * chosenCount;
  const lo = Math.floor((part * total) / parts);
  const hi = Math.floor(((part + 1) * total) / parts);
  let start = 0;
  for (let j = 0; j < count; j++) {
    const o = j * JOB_WORDS;
    const weight = unitWeight(jobs, o);
    // The units whose start (start + c * weight) falls in [lo, hi).
    const c0 = Math.min(chosenCount, Math.max(0, Math.ceil((lo - start) / weight)));
    const c1 = Math.min(chosenCount, Math.max(0, Math.ceil((hi - start) / weight)));
    start += weight * chosenCount;
    const slot = jobs[o + HistogramJob.slot]!;
    const begin = jobs[o + HistogramJob.begin]!;
    const end = jobs[o + HistogramJob.end]!;
    buildHistogramPart(hs, slot, begin, end, c0, c1, part);
    const parent = jobs[o + HistogramJob.parent]!;
    if (parent >= 0) subtractPart(hs, parent, slot, c0, c1);
    const search = jobs[o + HistogramJob.search]!;
    const s = 4 * j;
    if ((search & 1) !== 0) {
      const at = resultAt(splitParts, j, 0, part);
      searchSplit(hs, slot, jobSums[s]!, jobSums[s + 1]!, end - begin, c0, c1, part, splitResults, at);
    }
    if ((search & 2) !== 0 && parent >= 0) {
      const at = resultAt(splitParts, j, 1, part);
      const largeCount = jobs[o + HistogramJob.largeCount]!;
      searchSplit(hs, parent, jobSums[s + 2]!, jobSums[s + 3]!, largeCount, c0, c1, part, splitResults, at);
    }
  }
}

/** The weight of one (job, feature) unit of the histogram job at `o`. */
function unitWeight(jobs: Int32Array, o: number): number {
  return jobs[o + HistogramJob.end]! - jobs[o + HistogramJob.begin]! + UNIT_SEARCH_ROWS;
}

/** Where part `part`'s search of histogram job j's small (side 0) or large (side 1) child goes. */
export function resultAt(parts: number, j: number, side: 0 | 1, part: number): number {
  return RESULT_DOUBLES * ((2 * j + side) * parts + part);
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
