import type { BinnedFeature } from './gbdt-bins.js';
import type { Tree } from './gbdt-ensemble.js';
import type { HistogramSpace } from './gbdt-histogram.js';

export interface GrowSettings {
  maxDepth: number;
  minChildWeight: number;
  minSamplesLeaf: number;
  minSplitGain: number;
  lambda: number;
  learningRate: number;
  /**
   * Row counts per bin are only needed for min_samples_leaf > 1, or when min_child_weight is 0 and
   * cannot keep a child from being empty; otherwise the histogram skips them (a third of its work).
   */
  countRows: boolean;
}

/** Fills a histogram slot from the space's index[begin, end), its gathered gradients and chosen features. */
export interface HistogramBuild {
  readonly space: HistogramSpace;
  build(slot: number, begin: number, end: number, chosenCount: number): void;
}

interface Split {
  feature: number;
  bin: number;
  gl: number;
  hl: number;
}

/**
 * Grows trees, one at a time, depth first, on the rows in space.index[0, rowCount): a node owns a range of the
 * index, and a split partitions that range in place (left rows first, both sides keeping ascending
 * row order, so every histogram sums its rows in the same order as a fresh scan would). Only the
 * smaller child's histogram is scanned; the larger one's is the parent's minus it, in the parent's
 * slot. Children that cannot split (depth, row count) get no histogram at all.
 */
export class TreeGrower {
  private binFeature: number[] = [];
  private splitBin: number[] = [];
  private left: number[] = [];
  private right: number[] = [];
  private value: number[] = [];
  private chosenCount = 0;
  private readonly space: HistogramSpace;
  /** Free histogram slots (a stack); depth-first growth never holds more than maxDepth + 1. */
  private readonly free: number[];
  private readonly scratch: Uint32Array;

  constructor(
    private readonly features: BinnedFeature[],
    private readonly histograms: HistogramBuild,
    private readonly s: GrowSettings,
    /** Set to the leaf id of every row the tree is grown on (the caller resets it to -1). */
    private readonly leafOf: Int32Array,
  ) {
    this.space = histograms.space;
    const slotCount = this.space.slots.length / this.space.size;
    this.free = Array.from({ length: slotCount }, (_, k) => slotCount - 1 - k);
    this.scratch = new Uint32Array(this.space.index.length);
  }

  /**
   * Grows a tree on index[0, rowCount) (ascending rows) and the features chosen[0, chosenCount),
   * both set in the space by the caller.
   */
  grow(rowCount: number, chosenCount: number): Tree {
    this.chosenCount = chosenCount;
    this.binFeature = [];
    this.splitBin = [];
    this.left = [];
    this.right = [];
    this.value = [];
    const { index, gh } = this.space;
    let g = 0;
    let h = 0;
    for (let k = 0; k < rowCount; k++) {
      const i = index[k]!;
      g += gh[2 * i]!;
      h += gh[2 * i + 1]!;
    }
    const slot = this.canSplit(0, rowCount) ? this.histogram(0, rowCount) : -1;
    this.node(0, rowCount, 0, slot, g, h);
    return {
      binFeature: Int32Array.from(this.binFeature),
      splitBin: Int32Array.from(this.splitBin),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      value: Float64Array.from(this.value),
    };
  }

  private canSplit(depth: number, count: number): boolean {
    return depth < this.s.maxDepth && count >= 2 * this.s.minSamplesLeaf;
  }

  /**
   * Builds the subtree of index[begin, end) (pre-order ids) and returns its root id. `slot` holds
   * the node's histogram (-1 when it cannot split); the node releases it.
   */
  private node(begin: number, end: number, depth: number, slot: number, g: number, h: number): number {
    const id = this.leaf(g, h);
    const split = slot < 0 ? undefined : this.bestSplit(slot, g, h, end - begin);
    if (split === undefined) {
      if (slot >= 0) this.free.push(slot);
      const { index } = this.space;
      const leafOf = this.leafOf;
      for (let k = begin; k < end; k++) leafOf[index[k]!] = id;
      return id;
    }
    this.binFeature[id] = split.feature;
    this.splitBin[id] = split.bin;
    if (depth + 1 >= this.s.maxDepth) {
      // Both children are leaves: label the rows instead of partitioning them.
      this.free.push(slot);
      const leftId = this.leaf(split.gl, split.hl);
      const rightId = this.leaf(g - split.gl, h - split.hl);
      this.left[id] = leftId;
      this.right[id] = rightId;
      this.labelLeaves(begin, end, split, leftId, rightId);
      return id;
    }
    const mid = this.partition(begin, end, split);
    const l = mid - begin;
    const r = end - mid;
    let leftSlot = -1;
    let rightSlot = -1;
    if (this.canSplit(depth + 1, Math.max(l, r))) {
      // Scan the smaller child; the larger one's histogram is the parent's minus it.
      const leftSmaller = l <= r;
      const small = leftSmaller ? this.histogram(begin, mid) : this.histogram(mid, end);
      this.subtract(slot, small);
      leftSlot = leftSmaller ? small : slot;
      rightSlot = leftSmaller ? slot : small;
      if (!this.canSplit(depth + 1, l)) leftSlot = this.release(leftSlot);
      if (!this.canSplit(depth + 1, r)) rightSlot = this.release(rightSlot);
    } else {
      this.free.push(slot);
    }
    this.left[id] = this.node(begin, mid, depth + 1, leftSlot, split.gl, split.hl);
    this.right[id] = this.node(mid, end, depth + 1, rightSlot, g - split.gl, h - split.hl);
    return id;
  }

  /** Adds a node, a leaf until its split is set, and returns its id. */
  private leaf(g: number, h: number): number {
    this.binFeature.push(-1);
    this.splitBin.push(-1);
    this.left.push(-1);
    this.right.push(-1);
    this.value.push((-g / (h + this.s.lambda)) * this.s.learningRate);
    return this.value.length - 1;
  }

  /** Where the split feature's column starts, and whether the feature is numeric. */
  private splitPoint(split: Split): { column: number; bin: number; numeric: boolean } {
    return {
      column: split.feature * this.space.n,
      bin: split.bin,
      numeric: this.features[split.feature]!.kind === 'numeric',
    };
  }

  /** Sets leafOf of index[begin, end) to the leaf each row falls in under `split`. */
  private labelLeaves(begin: number, end: number, split: Split, leftId: number, rightId: number): void {
    const { index, columns } = this.space;
    const { column, bin, numeric } = this.splitPoint(split);
    const leafOf = this.leafOf;
    for (let k = begin; k < end; k++) {
      const i = index[k]!;
      const v = columns[column + i]!;
      leafOf[i] = (numeric ? v <= bin : v !== bin) ? leftId : rightId;
    }
  }

  private release(slot: number): number {
    this.free.push(slot);
    return -1;
  }

  /**
   * Stable in-place partition of index[begin, end); returns where the right rows start. Branch-free:
   * each row is written to both sides and only one cursor moves, since which way a row goes is a coin
   * toss to the processor's branch predictor.
   */
  private partition(begin: number, end: number, split: Split): number {
    const { index, columns } = this.space;
    const { column, bin, numeric } = this.splitPoint(split);
    const scratch = this.scratch;
    let l = begin;
    let r = 0;
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
    index.set(scratch.subarray(0, r), l);
    return l;
  }

  /** Takes a free slot and fills it with the histogram of index[begin, end). */
  private histogram(begin: number, end: number): number {
    const slot = this.free.pop();
    if (slot === undefined) throw new Error('gbdt: no free histogram slot (slot count below depth + 1)');
    this.histograms.build(slot, begin, end, this.chosenCount);
    return slot;
  }

  /** slot[large] -= slot[small], over the chosen features' parts only. */
  private subtract(large: number, small: number): void {
    const { slots, size, stride, binStart, chosen } = this.space;
    const a = large * size;
    const b = small * size;
    if (this.chosenCount === this.features.length) {
      for (let k = 0; k < size; k++) slots[a + k] = slots[a + k]! - slots[b + k]!;
      return;
    }
    for (let c = 0; c < this.chosenCount; c++) {
      const f = chosen[c]!;
      for (let k = stride * binStart[f]!, to = stride * binStart[f + 1]!; k < to; k++)
        slots[a + k] = slots[a + k]! - slots[b + k]!;
    }
  }

  private bestSplit(slot: number, g: number, h: number, count: number): Split | undefined {
    const { lambda, minChildWeight, minSamplesLeaf, minSplitGain, countRows } = this.s;
    const { slots, binStart, chosen, stride } = this.space;
    const base = slot * this.space.size;
    const parentScore = (g * g) / (h + lambda);
    let best: Split | undefined;
    let bestGain = Math.max(minSplitGain, 1e-12);
    for (let c = 0; c < this.chosenCount; c++) {
      const f = chosen[c]!;
      const feature = this.features[f]!;
      const off = base + stride * binStart[f]!;
      const numeric = feature.kind === 'numeric';
      let gl = 0;
      let hl = 0;
      let cl = 0;
      // Numeric: bins 0..b go left. Categorical: the rows of category b go right (one-hot > 0.5).
      for (let b = numeric ? 0 : 1; b < (numeric ? feature.binCount - 1 : feature.binCount); b++) {
        const at = off + stride * b;
        if (numeric) {
          gl += slots[at]!;
          hl += slots[at + 1]!;
          if (countRows) cl += slots[at + 2]!;
        } else {
          if (slots[at + 1] === 0) continue; // hessians are > 0, so an empty bin has none
          gl = g - slots[at]!;
          hl = h - slots[at + 1]!;
          if (countRows) cl = count - slots[at + 2]!;
        }
        const gr = g - gl;
        const hr = h - hl;
        if (hl < minChildWeight || hr < minChildWeight) continue;
        if (countRows && (cl < minSamplesLeaf || count - cl < minSamplesLeaf)) continue;
        const gain = 0.5 * ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore);
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: b, gl, hl };
        }
      }
    }
    return best;
  }
}
