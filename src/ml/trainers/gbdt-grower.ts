import type { BinnedFeature } from './gbdt-bins.js';
import { preOrder, type Tree } from './gbdt-ensemble.js';
import { gradientSumsByChunks } from './gbdt-histogram.js';
import { HistogramJob, RowJob, resultAt } from './gbdt-level.js';
import { type HistogramSpace, JOB_WORDS, RESULT_DOUBLES } from './gbdt-space.js';
import { bestOfParts, type Split, SplitSetting, searchSplit } from './gbdt-split.js';

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
  /**
   * Fills a histogram slot from the space's index[begin, end), its gradients and chosen features;
   * true when those rows' gradient sums, as gradientSumsByChunks adds them, are in space.rowSums[0, 2).
   */
  build(slot: number, begin: number, end: number, chosenCount: number): boolean;
  /** Runs the row jobs [0, count) in space.jobs (gbdt-level.ts). */
  rowJobs(count: number): void;
  /**
   * Runs the histogram jobs [0, count) in space.jobs over the chosen features [0, chosenCount), and
   * the split searches of their children; returns how many parts the jobs were shared between
   * (bestOfParts joins as many results).
   */
  histogramJobs(count: number, chosenCount: number): number;
  /**
   * A level in one go: runs the row jobs [0, count), then `histograms` on the calling thread once
   * every row job is done (it reads their mids, writes the histogram jobs over them in place and
   * returns how many), then those histogram jobs as histogramJobs does; returns its parts (1 when
   * there were none). Threads share both steps in one hand-off.
   */
  levelJobs(count: number, chosenCount: number, histograms: () => number): number;
}

/**
 * A node of the level being grown: its rows index[begin, end), its histogram slot (-1: none), its
 * sums, and its best split (searched when its histogram was made; undefined: it stays a leaf).
 */
interface LevelNode {
  id: number;
  begin: number;
  end: number;
  slot: number;
  g: number;
  h: number;
  split: Split | undefined;
}

/** A histogram job's search bit: the left child is the small one (in the job's slot). */
const LEFT_SMALL = 4;

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
 * Each level is one hand-off to the worker threads (levelJobs: partition the rows of all its nodes,
 * then build all its children's histograms) instead of two per node. A level wider than
 * levelWidth() holds too many histograms at once: its nodes' subtrees are grown depth first, one
 * node at a time, which gives the same sums (every histogram is still its rows in order), so the
 * same tree.
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
  /** Slots the current level's histogram jobs let go of, freed after them (releaseLevel). */
  private readonly released: number[] = [];
  /** The calling thread's own split search result (the root's). */
  private readonly result = new Float64Array(RESULT_DOUBLES);

  constructor(
    private readonly features: BinnedFeature[],
    private readonly steps: GrowSteps,
    private readonly s: GrowSettings,
  ) {
    this.space = steps.space;
    const slots = this.space.slotCount;
    this.width = levelWidth(s.maxDepth);
    if (slots < slotCount(s.maxDepth) || this.space.jobs.length < JOB_WORDS * this.width)
      throw new Error('gbdt: the histogram space is too small for trees of this depth');
    this.free = Array.from({ length: slots }, (_, k) => slots - 1 - k);
    // What the split searches read, on whichever thread they run.
    const { splitSettings, splitBinCount, splitNumeric } = this.space;
    splitSettings[SplitSetting.lambda] = s.lambda;
    splitSettings[SplitSetting.minChildWeight] = s.minChildWeight;
    splitSettings[SplitSetting.minSamplesLeaf] = s.minSamplesLeaf;
    splitSettings[SplitSetting.minSplitGain] = s.minSplitGain;
    features.forEach((feature, f) => {
      splitBinCount[f] = feature.binCount;
      splitNumeric[f] = feature.kind === 'numeric' ? 1 : 0;
    });
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
    let slot = -1;
    let summed = false;
    if (this.canSplit(0, rowCount)) {
      slot = this.take();
      summed = this.steps.build(slot, 0, rowCount, chosenCount);
    }
    const { rowSums } = this.space;
    const [g, h] = summed ? [rowSums[0]!, rowSums[1]!] : gradientSumsByChunks(this.space, 0, rowCount);
    const split = slot < 0 ? undefined : this.bestSplit(slot, g, h, rowCount);
    let level: LevelNode[] = [{ id: this.leaf(g, h), begin: 0, end: rowCount, slot, g, h, split }];
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
      const { split } = node;
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
    const next: LevelNode[] = [];
    let histogramCount = 0;
    const parts = this.steps.levelJobs(count, this.chosenCount, () => {
      // Histogram jobs overwrite the row jobs in place: job `histogramCount` is written only after
      // the row job at or after it (parted[histogramCount] or later) has given its mid.
      for (const { node, split, job, leftId, rightId } of parted) {
        const mid = jobs[job + RowJob.mid]!;
        const [leftSlot, rightSlot] = this.childSlots(node, split, mid, depth + 1, histogramCount);
        if (leftSlot >= 0 || rightSlot >= 0) histogramCount++;
        next.push(
          ...this.children(
            node,
            split,
            mid,
            [leftId, rightId],
            [leftSlot, rightSlot],
            [undefined, undefined],
          ),
        );
      }
      return histogramCount;
    });
    if (histogramCount > 0) {
      // Job j is the j-th pair of children with a slot, in order.
      let j = 0;
      for (let k = 0; k < next.length; k += 2) {
        const left = next[k]!;
        const right = next[k + 1]!;
        if (left.slot < 0 && right.slot < 0) continue;
        [left.split, right.split] = this.childSplits(j++, parts);
      }
    }
    this.releaseLevel();
    return next;
  }

  /** The searched splits of histogram job j's children (left, right), joined over `parts` parts. */
  private childSplits(j: number, parts: number): [Split | undefined, Split | undefined] {
    const { jobs, splitResults, splitParts } = this.space;
    const search = jobs[JOB_WORDS * j + HistogramJob.search]!;
    const best = (side: 0 | 1) =>
      (search & (1 << side)) === 0
        ? undefined
        : bestOfParts(this.space, splitResults, resultAt(splitParts, j, side, 0), parts);
    const small = best(0);
    const large = best(1);
    return (search & LEFT_SMALL) !== 0 ? [small, large] : [large, small];
  }

  /**
   * Grows the subtree of a node depth first: its split, partition and children one at a time (the
   * fallback for levels too wide to hold all their histograms). The node releases its slot.
   */
  private node(node: LevelNode, depth: number): void {
    const { jobs } = this.space;
    jobs[RowJob.begin] = node.begin;
    jobs[RowJob.end] = node.end;
    const { split } = node;
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
    const [leftSlot, rightSlot] = this.childSlots(node, split, mid, depth + 1, 0);
    let splits: [Split | undefined, Split | undefined] = [undefined, undefined];
    // Read before the children's own jobs take job 0.
    if (leftSlot >= 0 || rightSlot >= 0)
      splits = this.childSplits(0, this.steps.histogramJobs(1, this.chosenCount));
    this.releaseLevel();
    const [left, right] = this.children(node, split, mid, [leftId, rightId], [leftSlot, rightSlot], splits);
    this.node(left, depth + 1);
    this.node(right, depth + 1);
  }

  /** The two children of `node` split at `mid`: rows [begin, mid) go left, their sums from the split. */
  private children(
    node: LevelNode,
    split: Split,
    mid: number,
    ids: [number, number],
    slots: [number, number],
    splits: [Split | undefined, Split | undefined],
  ): [LevelNode, LevelNode] {
    return [
      { id: ids[0], begin: node.begin, end: mid, slot: slots[0], g: split.gl, h: split.hl, split: splits[0] },
      {
        id: ids[1],
        begin: mid,
        end: node.end,
        slot: slots[1],
        g: node.g - split.gl,
        h: node.h - split.hl,
        split: splits[1],
      },
    ];
  }

  /**
   * The children's slots of a node split at mid: when either may split, the smaller one's histogram
   * is built into a fresh slot (histogram job j) and the parent's slot, minus it, becomes the
   * larger one's; the children that may split are searched for their own splits. A child that
   * cannot split gives its slot back once the level's histogram jobs are done (releaseLevel): its
   * job still reads or writes it, and another job of the level may run on another thread at the
   * same time (it is not searched).
   */
  private childSlots(node: LevelNode, split: Split, mid: number, depth: number, j: number): [number, number] {
    const l = mid - node.begin;
    const r = node.end - mid;
    if (!this.canSplit(depth, Math.max(l, r))) {
      this.free.push(node.slot);
      return [-1, -1];
    }
    const leftSmaller = l <= r;
    const small = this.take();
    const { jobs, jobSums } = this.space;
    const o = JOB_WORDS * j;
    jobs[o + HistogramJob.slot] = small;
    jobs[o + HistogramJob.begin] = leftSmaller ? node.begin : mid;
    jobs[o + HistogramJob.end] = leftSmaller ? mid : node.end;
    jobs[o + HistogramJob.parent] = node.slot;
    jobs[o + HistogramJob.largeCount] = leftSmaller ? r : l;
    const gr = node.g - split.gl;
    const hr = node.h - split.hl;
    jobSums[4 * j] = leftSmaller ? split.gl : gr;
    jobSums[4 * j + 1] = leftSmaller ? split.hl : hr;
    jobSums[4 * j + 2] = leftSmaller ? gr : split.gl;
    jobSums[4 * j + 3] = leftSmaller ? hr : split.hl;
    let leftSlot = leftSmaller ? small : node.slot;
    let rightSlot = leftSmaller ? node.slot : small;
    if (!this.canSplit(depth, l)) leftSlot = this.release(leftSlot);
    if (!this.canSplit(depth, r)) rightSlot = this.release(rightSlot);
    const smallSlot = leftSmaller ? leftSlot : rightSlot;
    const largeSlot = leftSmaller ? rightSlot : leftSlot;
    jobs[o + HistogramJob.search] =
      (smallSlot >= 0 ? 1 : 0) | (largeSlot >= 0 ? 2 : 0) | (leftSmaller ? LEFT_SMALL : 0);
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
    jobs[o + RowJob.mid] = -1;
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
    this.released.push(slot);
    return -1;
  }

  /** Frees the slots the level's histogram jobs have released (they are done with them). */
  private releaseLevel(): void {
    for (const slot of this.released) this.free.push(slot);
    this.released.length = 0;
  }

  /** The best split of the node in `slot` over every chosen feature, searched on this thread. */
  private bestSplit(slot: number, g: number, h: number, count: number): Split | undefined {
    searchSplit(this.space, slot, g, h, count, 0, this.chosenCount, 0, this.result, 0);
    return bestOfParts(this.space, this.result, 0, 1);
  }
}
