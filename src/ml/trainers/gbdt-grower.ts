import type { BinnedFeature } from './gbdt-bins.js';
import type { Tree } from './gbdt-ensemble.js';
import { histogramKernels } from './gbdt-kernels.js';
import { HistogramJob, RowJob } from './gbdt-level.js';
import { type HistogramSpace, JOB_WORDS } from './gbdt-space.js';
import { SplitArea } from './gbdt-split-kernel.js';

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

/** The steps a tree is grown with, on the calling thread or shared with workers (gbdt-threads.ts). */
export interface GrowSteps {
  readonly space: HistogramSpace;
  /** Fills a histogram slot from the space's index[begin, end), its gradients and chosen features. */
  build(slot: number, begin: number, end: number, chosenCount: number): void;
  /** Runs the row jobs [0, count) in space.jobs (gbdt-level.ts). */
  rowJobs(count: number): void;
  /** Runs the histogram jobs [0, count) in space.jobs over the chosen features [0, chosenCount). */
  histogramJobs(count: number, chosenCount: number): void;
}

interface Split {
  feature: number;
  bin: number;
  gl: number;
  hl: number;
}

/** A node of the level being grown: its rows index[begin, end), its histogram slot (-1: none), its sums. */
interface LevelNode {
  id: number;
  begin: number;
  end: number;
  slot: number;
  g: number;
  h: number;
}

/** Most nodes with histograms a level is grown with at once (more: the rest is grown node by node). */
const LEVEL_WIDTH = 64;

/** The nodes a level step handles at most for trees of maxDepth: the job capacity of the space. */
export function levelWidth(maxDepth: number): number {
  return Math.min(LEVEL_WIDTH, 2 ** Math.max(0, maxDepth - 1));
}

/**
 * Histogram slots for trees of maxDepth: a level's worth, plus what growing one node's subtree
 * depth first holds (one per level plus the one being built).
 */
export function slotCount(maxDepth: number): number {
  return levelWidth(maxDepth) + maxDepth + 2;
}

/** A grown tree: in pre-order (the model's node order) and in the order it was grown (leafOf's ids). */
export interface GrownTree {
  tree: Tree;
  grown: Tree;
}

/**
 * Grows trees, one at a time, level by level, on the rows in space.index[0, rowCount): a node owns
 * a range of the index, and a split partitions that range in place (left rows first, both sides
 * keeping ascending row order, so every histogram sums its rows in the same order as a fresh scan
 * would). Only the smaller child's histogram is scanned; the larger one's is the parent's minus it,
 * in the parent's slot. Children that cannot split (depth, row count) get no histogram at all.
 *
 * Each level is two hand-offs to the worker threads (partition the rows of all its nodes, then build
 * all its children's histograms) instead of two per node. A level wider than levelWidth() holds too
 * many histograms at once: its nodes' subtrees are grown depth first, one node at a time, which
 * gives the same sums (every histogram is still its rows in order), so the same tree.
 */
export class TreeGrower {
  private binFeature: number[] = [];
  private splitBin: number[] = [];
  private left: number[] = [];
  private right: number[] = [];
  private value: number[] = [];
  private chosenCount = 0;
  private readonly space: HistogramSpace;
  private readonly width: number;
  /** Free histogram slots (a stack). */
  private readonly free: number[];

  constructor(
    private readonly features: BinnedFeature[],
    private readonly steps: GrowSteps,
    private readonly s: GrowSettings,
  ) {
    this.space = steps.space;
    const slots = this.space.slots.length / this.space.size;
    this.width = levelWidth(s.maxDepth);
    if (slots < slotCount(s.maxDepth) || this.space.jobs.length < JOB_WORDS * this.width)
      throw new Error('gbdt: the histogram space is too small for trees of this depth');
    this.free = Array.from({ length: slots }, (_, k) => slots - 1 - k);
  }

  /**
   * Grows a tree on index[0, rowCount) (ascending rows) and the features chosen[0, chosenCount),
   * both set in the space by the caller; sets space.leafOf of those rows to their leaf (grown ids).
   */
  grow(rowCount: number, chosenCount: number): GrownTree {
    this.chosenCount = chosenCount;
    this.binFeature = [];
    this.splitBin = [];
    this.left = [];
    this.right = [];
    this.value = [];
    const [g, h] = gradientSums(this.space, rowCount);
    let slot = -1;
    if (this.canSplit(0, rowCount)) {
      slot = this.take();
      this.steps.build(slot, 0, rowCount, chosenCount);
    }
    let level: LevelNode[] = [{ id: this.leaf(g, h), begin: 0, end: rowCount, slot, g, h }];
    for (let depth = 0; level.length > 0; depth++) {
      if (depth + 1 < this.s.maxDepth && 2 * level.filter((n) => n.slot >= 0).length > this.width) {
        for (const n of level) this.node(n, depth);
        break;
      }
      level = this.level(level, depth);
    }
    const grown = this.arrays();
    return { tree: preOrder(grown), grown };
  }

  private canSplit(depth: number, count: number): boolean {
    return depth < this.s.maxDepth && count >= 2 * this.s.minSamplesLeaf;
  }

  /**
   * Splits the nodes of one level (at most this.width of them, at most half of them holding
   * histograms when their children may split) and returns the next level.
   */
  private level(level: LevelNode[], depth: number): LevelNode[] {
    const { jobs } = this.space;
    const last = depth + 1 >= this.s.maxDepth;
    const parted: { node: LevelNode; split: Split; job: number; leftId: number; rightId: number }[] = [];
    let count = 0;
    for (const node of level) {
      const o = JOB_WORDS * count++;
      jobs[o + RowJob.begin] = node.begin;
      jobs[o + RowJob.end] = node.end;
      const split =
        node.slot < 0 ? undefined : this.bestSplit(node.slot, node.g, node.h, node.end - node.begin);
      if (split === undefined) {
        if (node.slot >= 0) this.free.push(node.slot);
        jobs[o + RowJob.feature] = -1;
        jobs[o + RowJob.left] = node.id;
        continue;
      }
      const leftId = this.leaf(split.gl, split.hl);
      const rightId = this.leaf(node.g - split.gl, node.h - split.hl);
      this.setSplit(node.id, split, leftId, rightId);
      this.splitJob(o, split, leftId, last ? rightId : -1);
      if (last) this.free.push(node.slot);
      else parted.push({ node, split, job: o, leftId, rightId });
    }
    this.steps.rowJobs(count);
    const next: LevelNode[] = [];
    // Histogram jobs overwrite the row jobs in place: job `count` is written only after the row job
    // at or after it (parted[count] or later) has given its mid.
    count = 0;
    for (const { node, split, job, leftId, rightId } of parted) {
      const mid = jobs[job + RowJob.mid]!;
      const [leftSlot, rightSlot] = this.childSlots(node, mid, depth + 1, JOB_WORDS * count);
      if (leftSlot >= 0 || rightSlot >= 0) count++;
      next.push({ id: leftId, begin: node.begin, end: mid, slot: leftSlot, g: split.gl, h: split.hl });
      next.push({
        id: rightId,
        begin: mid,
        end: node.end,
        slot: rightSlot,
        g: node.g - split.gl,
        h: node.h - split.hl,
      });
    }
    if (count > 0) this.steps.histogramJobs(count, this.chosenCount);
    return next;
  }

  /**
   * Grows the subtree of a node depth first: its split, partition and children one at a time (the
   * fallback for levels too wide to hold all their histograms). The node releases its slot.
   */
  private node(node: LevelNode, depth: number): void {
    const { jobs } = this.space;
    jobs[RowJob.begin] = node.begin;
    jobs[RowJob.end] = node.end;
    const split =
      node.slot < 0 ? undefined : this.bestSplit(node.slot, node.g, node.h, node.end - node.begin);
    if (split === undefined) {
      if (node.slot >= 0) this.free.push(node.slot);
      jobs[RowJob.feature] = -1;
      jobs[RowJob.left] = node.id;
      this.steps.rowJobs(1);
      return;
    }
    const last = depth + 1 >= this.s.maxDepth;
    const leftId = this.leaf(split.gl, split.hl);
    const rightId = this.leaf(node.g - split.gl, node.h - split.hl);
    this.setSplit(node.id, split, leftId, rightId);
    this.splitJob(0, split, leftId, last ? rightId : -1);
    this.steps.rowJobs(1);
    if (last) {
      this.free.push(node.slot);
      return;
    }
    const mid = jobs[RowJob.mid]!;
    const [leftSlot, rightSlot] = this.childSlots(node, mid, depth + 1, 0);
    if (leftSlot >= 0 || rightSlot >= 0) this.steps.histogramJobs(1, this.chosenCount);
    const gr = node.g - split.gl;
    const hr = node.h - split.hl;
    this.node(
      { id: leftId, begin: node.begin, end: mid, slot: leftSlot, g: split.gl, h: split.hl },
      depth + 1,
    );
    this.node({ id: rightId, begin: mid, end: node.end, slot: rightSlot, g: gr, h: hr }, depth + 1);
  }

  /**
   * The children's slots of a node split at mid: when either may split, the smaller one's histogram
   * is built into a fresh slot (a histogram job at `o`) and the parent's slot, minus it, becomes the
   * larger one's. A child that cannot split gives its slot back at once: jobs run in order per
   * feature, so a later job reusing it writes only after this one is done with it.
   */
  private childSlots(node: LevelNode, mid: number, depth: number, o: number): [number, number] {
    const l = mid - node.begin;
    const r = node.end - mid;
    if (!this.canSplit(depth, Math.max(l, r))) {
      this.free.push(node.slot);
      return [-1, -1];
    }
    const leftSmaller = l <= r;
    const small = this.take();
    const { jobs } = this.space;
    jobs[o + HistogramJob.slot] = small;
    jobs[o + HistogramJob.begin] = leftSmaller ? node.begin : mid;
    jobs[o + HistogramJob.end] = leftSmaller ? mid : node.end;
    jobs[o + HistogramJob.parent] = node.slot;
    let leftSlot = leftSmaller ? small : node.slot;
    let rightSlot = leftSmaller ? node.slot : small;
    if (!this.canSplit(depth, l)) leftSlot = this.release(leftSlot);
    if (!this.canSplit(depth, r)) rightSlot = this.release(rightSlot);
    return [leftSlot, rightSlot];
  }

  /** Writes the split part of a row job at `o`: label with leftId/rightId, or partition (rightId -1). */
  private splitJob(o: number, split: Split, leftId: number, rightId: number): void {
    const { jobs } = this.space;
    jobs[o + RowJob.feature] = split.feature;
    jobs[o + RowJob.bin] = split.bin;
    jobs[o + RowJob.numeric] = this.features[split.feature]!.kind === 'numeric' ? 1 : 0;
    jobs[o + RowJob.left] = leftId;
    jobs[o + RowJob.right] = rightId;
  }

  private setSplit(id: number, split: Split, leftId: number, rightId: number): void {
    this.binFeature[id] = split.feature;
    this.splitBin[id] = split.bin;
    this.left[id] = leftId;
    this.right[id] = rightId;
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

  private arrays(): Tree {
    return {
      binFeature: Int32Array.from(this.binFeature),
      splitBin: Int32Array.from(this.splitBin),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      value: Float64Array.from(this.value),
    };
  }

  private take(): number {
    const slot = this.free.pop();
    if (slot === undefined) throw new Error('gbdt: no free histogram slot');
    return slot;
  }

  private release(slot: number): number {
    this.free.push(slot);
    return -1;
  }

  private bestSplit(slot: number, g: number, h: number, count: number): Split | undefined {
    const { lambda, minChildWeight, minSamplesLeaf, minSplitGain, countRows } = this.s;
    const { slots, binStart, chosen, stride, memory, splitArea: area } = this.space;
    const base = slot * this.space.size;
    const parentScore = (g * g) / (h + lambda);
    let best: Split | undefined;
    let bestGain = Math.max(minSplitGain, 1e-12);
    // Numeric features without row counts are scanned by a kernel, to the same bits.
    const kernels = memory !== undefined && !countRows ? histogramKernels(memory) : undefined;
    if (kernels !== undefined) {
      area[SplitArea.gh / 8] = g;
      area[SplitArea.gh / 8 + 1] = h;
      area[SplitArea.lambda / 8] = lambda;
      area[SplitArea.lambda / 8 + 1] = lambda;
      area[SplitArea.minChildWeight / 8] = minChildWeight;
      area[SplitArea.parentScore / 8] = parentScore;
    }
    for (let c = 0; c < this.chosenCount; c++) {
      const f = chosen[c]!;
      const feature = this.features[f]!;
      const off = base + stride * binStart[f]!;
      const numeric = feature.kind === 'numeric';
      if (numeric && kernels !== undefined) {
        area[SplitArea.gain / 8] = bestGain;
        const bin = kernels.splitNumeric(slots.byteOffset + 8 * off, feature.binCount - 1, area.byteOffset);
        if (bin >= 0) {
          bestGain = area[SplitArea.gain / 8]!;
          best = { feature: f, bin, gl: area[SplitArea.left / 8]!, hl: area[SplitArea.left / 8 + 1]! };
        }
        continue;
      }
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

/**
 * Sums of the gradients and hessians of index[0, count). A function of its own: as a loop inside
 * grow() it had V8 compile grow() on the stack mid-loop, before the code after the loop had type
 * feedback, and throw that code away again on nearly every tree (198 deopts in 300 trees).
 */
function gradientSums(s: HistogramSpace, count: number): [number, number] {
  const { index, gh } = s;
  let g = 0;
  let h = 0;
  for (let k = 0; k < count; k++) {
    const i = index[k]!;
    g += gh[2 * i]!;
    h += gh[2 * i + 1]!;
  }
  return [g, h];
}

/** The same tree with its nodes in pre-order (node, left subtree, right subtree), root first. */
function preOrder(t: Tree): Tree {
  const count = t.value.length;
  const order = new Int32Array(count);
  const newId = new Int32Array(count);
  const stack = [0];
  let k = 0;
  while (stack.length > 0) {
    const id = stack.pop()!;
    newId[id] = k;
    order[k++] = id;
    if (t.left[id]! >= 0) stack.push(t.right[id]!, t.left[id]!);
  }
  const out: Tree = {
    binFeature: new Int32Array(count),
    splitBin: new Int32Array(count),
    left: new Int32Array(count),
    right: new Int32Array(count),
    value: new Float64Array(count),
  };
  for (let to = 0; to < count; to++) {
    const id = order[to]!;
    out.binFeature[to] = t.binFeature[id]!;
    out.splitBin[to] = t.splitBin[id]!;
    const l = t.left[id]!;
    out.left[to] = l < 0 ? -1 : newId[l]!;
    out.right[to] = l < 0 ? -1 : newId[t.right[id]!]!;
    out.value[to] = t.value[id]!;
  }
  return out;
}
