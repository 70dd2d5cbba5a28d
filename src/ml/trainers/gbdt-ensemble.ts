import type { EncodedRows, FeatureEncoding } from './feature-encoding.js';
import { categoryOffsets } from './feature-encoding.js';
import type { BinnedFeature } from './gbdt-bins.js';
import type { GraphBuilder } from './onnx-graph.js';
import { attr, doubleTensor } from './onnx-graph.js';
import { DataType } from './onnx-proto.js';

/** One tree in pre-order; left[k] = -1 marks a leaf. Split k is on binFeature[k] at splitBin[k]. */
export interface Tree {
  binFeature: Int32Array;
  splitBin: Int32Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

export interface TreeEnsemble {
  base: number;
  trees: Tree[];
  /** Multiclass (K > 2): each class's start margin; tree j belongs to class j % K (round-major). */
  classBases?: number[];
}

/** The same tree with its nodes in pre-order (node, left subtree, right subtree), root first. */
export function preOrder(t: Tree): Tree {
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

/**
 * The ensemble as value splits on columns of the encoded matrix: numeric "x <= threshold", or a
 * one-hot column "x <= 0.5" (not this category). This is what both the in-process model and the
 * ONNX TreeEnsembleRegressor evaluate.
 */
export interface ValueTrees {
  base: number;
  /** Multiclass (K > 2): each class's start margin; tree j belongs to class j % K (round-major). */
  classBases?: number[];
  trees: {
    column: Int32Array;
    threshold: Float64Array;
    left: Int32Array;
    right: Int32Array;
    value: Float64Array;
  }[];
}

/** Turns bin splits into value splits (bins are defined by thresholds, so routing is unchanged). */
export function toValueTrees(
  ensemble: TreeEnsemble,
  features: Pick<BinnedFeature, 'kind' | 'source' | 'thresholds' | 'firstColumn'>[],
): ValueTrees {
  return {
    base: ensemble.base,
    ...(ensemble.classBases ? { classBases: ensemble.classBases } : {}),
    trees: ensemble.trees.map((t) => {
      const m = t.left.length;
      const column = new Int32Array(m);
      const threshold = new Float64Array(m);
      for (let k = 0; k < m; k++) {
        if (t.left[k]! < 0) continue;
        const f = features[t.binFeature[k]!]!;
        if (f.kind === 'numeric') {
          column[k] = f.source;
          threshold[k] = f.thresholds[t.splitBin[k]!]!;
        } else {
          column[k] = f.firstColumn + t.splitBin[k]! - 1;
          threshold[k] = 0.5;
        }
      }
      return { column, threshold, left: t.left, right: t.right, value: t.value };
    }),
  };
}

/**
 * Margins as ORT's TreeEnsembleRegressor computes them for double input: leaf values summed in
 * double, tree by tree, the base added last, the result rounded to float32 (the op's output type).
 */
export function ensembleMargin(vt: ValueTrees, enc: FeatureEncoding, x: EncodedRows): Float64Array {
  const k = enc.numeric.length;
  const offsets = categoryOffsets(enc);
  const out = new Float64Array(x.n);
  const valueAt = (i: number, column: number): number => {
    if (column < k) return x.numeric[column]![i]!;
    // Which one-hot block the column is in, and whether row i's category is that column.
    let j = offsets.length - 1;
    while (offsets[j]! > column) j--;
    return x.codes[j]![i]! === column - offsets[j]! ? 1 : 0;
  };
  const leafOf = (i: number, t: ValueTrees['trees'][number]): number => {
    let node = 0;
    while (t.left[node]! >= 0) {
      node = valueAt(i, t.column[node]!) <= t.threshold[node]! ? t.left[node]! : t.right[node]!;
    }
    return t.value[node]!;
  };
  if (vt.classBases) {
    // Multiclass: row-major [N, K] margins, each class summing its own trees.
    const kc = vt.classBases.length;
    const multi = new Float64Array(x.n * kc);
    const sums = new Float64Array(kc);
    for (let i = 0; i < x.n; i++) {
      sums.fill(0);
      vt.trees.forEach((t, j) => {
        sums[j % kc]! += leafOf(i, t);
      });
      for (let k = 0; k < kc; k++) multi[i * kc + k] = Math.fround(sums[k]! + vt.classBases[k]!);
    }
    return multi;
  }
  for (let i = 0; i < x.n; i++) {
    let sum = 0;
    for (const t of vt.trees) sum += leafOf(i, t);
    out[i] = Math.fround(sum + vt.base);
  }
  return out;
}

/**
 * Adds an ai.onnx.ml TreeEnsembleRegressor (v3, double thresholds and weights) over X; returns a
 * double margin [N, 1], or [N, K] for a multiclass ensemble (one target per class).
 */
export function ensembleOnnx(vt: ValueTrees, b: GraphBuilder, x: string): string {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const targetTree: number[] = [];
  const targetNode: number[] = [];
  const weights: number[] = [];
  const targetIds: number[] = [];
  const kc = vt.classBases?.length ?? 1;
  vt.trees.forEach((t, tree) => {
    for (let k = 0; k < t.left.length; k++) {
      treeIds.push(tree);
      nodeIds.push(k);
      const leaf = t.left[k]! < 0;
      featureIds.push(leaf ? 0 : t.column[k]!);
      modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      values.push(leaf ? 0 : t.threshold[k]!);
      trueIds.push(leaf ? 0 : t.left[k]!);
      falseIds.push(leaf ? 0 : t.right[k]!);
      if (leaf) {
        targetTree.push(tree);
        targetNode.push(k);
        weights.push(t.value[k]!);
        targetIds.push(tree % kc);
      }
    }
  });
  const score = b.node(
    'TreeEnsembleRegressor',
    [x],
    [
      attr.string('aggregate_function', 'SUM'),
      attr.tensor('base_values_as_tensor', doubleTensor(vt.classBases ?? [vt.base], [kc])),
      attr.int('n_targets', kc),
      attr.ints('nodes_falsenodeids', falseIds),
      attr.ints('nodes_featureids', featureIds),
      attr.strings('nodes_modes', modes),
      attr.ints('nodes_nodeids', nodeIds),
      attr.ints('nodes_treeids', treeIds),
      attr.ints('nodes_truenodeids', trueIds),
      attr.tensor('nodes_values_as_tensor', doubleTensor(values, [values.length])),
      attr.string('post_transform', 'NONE'),
      attr.ints('target_ids', targetIds),
      attr.ints('target_nodeids', targetNode),
      attr.ints('target_treeids', targetTree),
      attr.tensor('target_weights_as_tensor', doubleTensor(weights, [weights.length])),
    ],
    { domain: 'ai.onnx.ml' },
  );
  return b.node('Cast', [score], [attr.int('to', DataType.DOUBLE)]);
}
