import type { Tree } from './gbdt-ensemble.js';
import { marginKernels } from './gbdt-kernels.js';
import { MARGIN_KERNELS } from './gbdt-margin-kernel.js';
import type { HistogramSpace, Storage } from './gbdt-space.js';
import { sigmoid } from './validation-score.js';

/*
 * The per-row steps of a boosting round, over row ranges that may run on different threads: the
 * gradients of the training rows, and adding a new tree's values to every row's margin. Each row's
 * result depends on that row alone, so how the rows are split between threads changes no bit.
 */

/** Tree arrays in (possibly shared) memory, big enough for trees of `capacity` nodes. */
export interface SharedTree {
  capacity: number;
  binFeature: Int32Array;
  splitBin: Int32Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

/**
 * Everything the row steps read and write besides the histogram space; arrays may be shared.
 * margin, y, tracked and tree.value are the space's rowArrays (in its memory, for the kernel;
 * margin outside it when there are several a row).
 */
export interface RowSpace {
  n: number;
  /** Margins per row: K of them (row-major) for multiclass, else one. */
  kc: number;
  margin: Float64Array;
  y: Float64Array;
  trainRows: Uint32Array;
  /** Leaf of each row in the tree just grown, -1 for rows it was not grown on; reset to -1 once read. */
  leafOf: Int32Array;
  /**
   * 2 for the training rows, 1 for the held-out rows whose margins are read (only when validation
   * scores are asked for), 0 for the others, which are not walked through each tree.
   */
  tracked: Uint8Array;
  /** 1 where binned feature f is numeric (bin <= split goes left), 0 for categorical (bin != split). */
  numeric: Uint8Array;
  tree: SharedTree;
}

export function createRowSpace(opts: {
  kc: number;
  y: Float64Array;
  trainRows: Uint32Array;
  /**
   * The histogram space, laid out with room for this row space (its `rows` option): leafOf (the
   * grower writes it, the margin step reads and resets it), margins, targets, tracked flags and
   * tree values live in its memory, where the margin kernel reads them.
   */
  space: HistogramSpace;
  numeric: boolean[];
  /** Whether held-out rows need their margins (validation scores after each round). */
  trackAll: boolean;
  storage: Storage;
}): RowSpace {
  const { kc, storage, space } = opts;
  const { n } = space;
  const { margin, y, tracked, value } = space.rowArrays;
  if (margin.length !== n * kc || y.length !== n)
    throw new Error('gbdt: the histogram space has no room for this row space');
  const cap = value.length;
  y.set(opts.y);
  const trainRows = new Uint32Array(storage(4 * opts.trainRows.length));
  trainRows.set(opts.trainRows);
  const numeric = new Uint8Array(storage(opts.numeric.length));
  numeric.set(opts.numeric.map((b) => (b ? 1 : 0)));
  if (opts.trackAll) tracked.fill(1);
  for (const i of trainRows) tracked[i] = 2;
  return {
    n,
    kc,
    margin,
    y,
    trainRows,
    leafOf: space.leafOf,
    tracked,
    numeric,
    tree: {
      capacity: cap,
      binFeature: new Int32Array(storage(4 * cap)),
      splitBin: new Int32Array(storage(4 * cap)),
      left: new Int32Array(storage(4 * cap)),
      right: new Int32Array(storage(4 * cap)),
      value,
    },
  };
}

/** Copies a grown tree into the row space (the caller checked it fits). */
export function setTree(rs: RowSpace, tree: Tree): void {
  const t = rs.tree;
  t.binFeature.set(tree.binFeature);
  t.splitBin.set(tree.splitBin);
  t.left.set(tree.left);
  t.right.set(tree.right);
  t.value.set(tree.value);
}

/**
 * Log-loss (regression: false) or squared-error gradients and hessians of trainRows[k0, k1), from
 * their margins (one margin per row).
 */
export function gradientPart(
  rs: RowSpace,
  hs: HistogramSpace,
  regression: boolean,
  k0: number,
  k1: number,
): void {
  const { trainRows, margin, y } = rs;
  const { gh } = hs;
  for (let k = k0; k < k1; k++) rowGradient(gh, trainRows[k]!, margin, y, regression);
}

/** Row i's gradient and hessian from its (single) margin: squared error or log-loss. */
function rowGradient(
  gh: Float64Array,
  i: number,
  margin: Float64Array,
  y: Float64Array,
  regression: boolean,
): void {
  if (regression) {
    gh[2 * i] = margin[i]! - y[i]!;
    gh[2 * i + 1] = 1;
    return;
  }
  const p = sigmoid(margin[i]!);
  gh[2 * i] = p - y[i]!;
  gh[2 * i + 1] = Math.max(p * (1 - p), 1e-16);
}

/** After a margin step: nothing, or the training rows' next gradients (single margin) by objective. */
export type NextGradients = 'none' | 'logloss' | 'squared';

/**
 * Adds the tree in rs.tree to margin `cls` of rows [i0, i1): rows it was grown on by their leaf
 * (leafOf, which it resets to -1), the other tracked ones (not drawn, held out) by walking it on
 * their bins. With `next` other than 'none' (one margin per row), each training row's gradient and
 * hessian for the next tree follow from its new margin, as gradientPart would compute them.
 * The margin kernel (gbdt-margin-kernel.ts) does the rows it can, to the same bits; the loop walks
 * the rest, and does every row where the kernel does not run (several margins per row, a space
 * without a memory, a thread whose exp failed its check).
 */
export function marginPart(
  rs: RowSpace,
  hs: HistogramSpace,
  cls: number,
  i0: number,
  i1: number,
  next: NextGradients = 'none',
): void {
  const kernels = rs.kc === 1 && hs.memory !== undefined ? marginKernels(hs.memory) : undefined;
  if (kernels === undefined) {
    marginRows(rs, hs, cls, i0, i1, next);
    return;
  }
  const kernel = kernels[MARGIN_KERNELS[next]];
  // Every array here lives in hs.memory (createRowSpace): byte offsets are addresses.
  const { leafOf, margin, tracked, y } = rs;
  const { value } = rs.tree;
  const { gh } = hs;
  for (let i = i0; i < i1; i++) {
    i = kernel(
      i,
      i1,
      leafOf.byteOffset,
      margin.byteOffset,
      value.byteOffset,
      tracked.byteOffset,
      y.byteOffset,
      gh.byteOffset,
    );
    if (i < i1) marginRows(rs, hs, cls, i, i + 1, next);
  }
}

/** marginPart's loop, over every row of [i0, i1). */
function marginRows(
  rs: RowSpace,
  hs: HistogramSpace,
  cls: number,
  i0: number,
  i1: number,
  next: NextGradients,
): void {
  const { margin, leafOf, kc, numeric, tracked, y } = rs;
  const { gh } = hs;
  const gradients = next !== 'none';
  const regression = next === 'squared';
  const { binFeature, splitBin, left, right, value } = rs.tree;
  const { columns, n } = hs;
  for (let i = i0; i < i1; i++) {
    let node = leafOf[i]!;
    if (node >= 0) {
      leafOf[i] = -1;
    } else if (tracked[i] === 0) {
      continue;
    } else {
      node = 0;
      while (left[node]! >= 0) {
        const f = binFeature[node]!;
        const bin = columns[f * n + i]!;
        const goLeft = numeric[f] === 1 ? bin <= splitBin[node]! : bin !== splitBin[node]!;
        node = goLeft ? left[node]! : right[node]!;
      }
    }
    const at = i * kc + cls;
    margin[at] = margin[at]! + value[node]!;
    if (gradients && tracked[i] === 2) rowGradient(gh, i, margin, y, regression);
  }
}
