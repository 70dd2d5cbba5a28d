/*
 * The histogram arrays a tree is grown on, and the one loop that fills them. The same function runs
 * on the main thread and in histogram worker threads, over buffers that may be shared between them
 * (SharedArrayBuffer), so that both see the same rows, gradients and histogram slots.
 *
 * Each feature's histogram is summed by one thread only, over the node's rows in ascending row order:
 * which thread sums which feature changes nothing in the result, so models are the same bit for bit
 * whatever the thread count (no cross-thread reduction to order).
 */

/** Plain or shared typed-array storage: the threaded builder passes SharedArrayBuffer-backed arrays. */
export type Storage = (bytes: number) => ArrayBuffer | SharedArrayBuffer;

export const plainStorage: Storage = (bytes) => new ArrayBuffer(bytes);
export const sharedStorage: Storage = (bytes) => new SharedArrayBuffer(bytes);

/** Everything the histogram loop reads and writes; every array may live in shared memory. */
export interface HistogramSpace {
  /** Bins, column-major: feature f's bin of row i is matrix[f * n + i]. */
  matrix: Uint8Array | Uint16Array;
  n: number;
  /**
   * The rows of the tree being grown, partitioned in place as it grows: each node owns a range
   * [begin, end), in ascending row order.
   */
  index: Uint32Array;
  /** Gradient and hessian of every row (set by the trainer before each tree). */
  grad: Float64Array;
  hess: Float64Array;
  /** The tree's features (indices into the binned features); chosenCount of them are in use. */
  chosen: Int32Array;
  /** First double of feature f's histogram in a slot. */
  offsets: Int32Array;
  /** Doubles per bin: gradient, hessian and, when rows are counted, a row count. */
  stride: 2 | 3;
  /** Histogram slots, one after another, `size` doubles each. */
  slots: Float64Array;
  size: number;
}

/** Allocates the arrays of a space; the bins matrix is copied into the same kind of storage. */
export function createHistogramSpace(opts: {
  matrix: Uint8Array | Uint16Array;
  n: number;
  binCounts: number[];
  countRows: boolean;
  slotCount: number;
  storage: Storage;
}): HistogramSpace {
  const { n, binCounts, storage } = opts;
  const stride = opts.countRows ? 3 : 2;
  const offsets = new Int32Array(storage(4 * (binCounts.length + 1)));
  for (let f = 0; f < binCounts.length; f++) offsets[f + 1] = offsets[f]! + stride * binCounts[f]!;
  const size = offsets[binCounts.length]!;
  const src = opts.matrix;
  const matrix =
    src instanceof Uint8Array
      ? new Uint8Array(storage(src.byteLength))
      : new Uint16Array(storage(src.byteLength));
  matrix.set(src);
  return {
    matrix,
    n,
    index: new Uint32Array(storage(4 * n)),
    grad: new Float64Array(storage(8 * n)),
    hess: new Float64Array(storage(8 * n)),
    chosen: new Int32Array(storage(4 * binCounts.length)),
    offsets,
    stride,
    slots: new Float64Array(storage(8 * size * opts.slotCount)),
    size,
  };
}

/**
 * Sums the gathered gradients of index[begin, end) into slot `slot`, for the chosen features
 * c0..c1-1 (zeroing their part of the slot first; other features' parts are left alone). Features go
 * four (then two, then one) to a pass over the rows, which reads each row's index and gradients once for four histograms;
 * each histogram still sums its rows in ascending order.
 */
export function buildHistogramPart(
  s: HistogramSpace,
  slot: number,
  begin: number,
  end: number,
  c0: number,
  c1: number,
): void {
  const { matrix, n, index, grad, hess, chosen, offsets, stride, slots } = s;
  const base = slot * s.size;
  const m = end - begin;
  const counting = stride === 3;
  for (let c = c0; c < c1; c++) {
    const f = chosen[c]!;
    slots.fill(0, base + offsets[f]!, base + offsets[f + 1]!);
  }
  let c = c0;
  for (; c + 4 <= c1; c += 4) {
    const f0 = chosen[c]!;
    const f1 = chosen[c + 1]!;
    const f2 = chosen[c + 2]!;
    const f3 = chosen[c + 3]!;
    const o0 = base + offsets[f0]!;
    const o1 = base + offsets[f1]!;
    const o2 = base + offsets[f2]!;
    const o3 = base + offsets[f3]!;
    const m0 = f0 * n;
    const m1 = f1 * n;
    const m2 = f2 * n;
    const m3 = f3 * n;
    for (let j = 0; j < m; j++) {
      const i = index[begin + j]!;
      const g = grad[i]!;
      const h = hess[i]!;
      const b0 = o0 + stride * matrix[m0 + i]!;
      const b1 = o1 + stride * matrix[m1 + i]!;
      const b2 = o2 + stride * matrix[m2 + i]!;
      const b3 = o3 + stride * matrix[m3 + i]!;
      slots[b0] = slots[b0]! + g;
      slots[b0 + 1] = slots[b0 + 1]! + h;
      slots[b1] = slots[b1]! + g;
      slots[b1 + 1] = slots[b1 + 1]! + h;
      slots[b2] = slots[b2]! + g;
      slots[b2 + 1] = slots[b2 + 1]! + h;
      slots[b3] = slots[b3]! + g;
      slots[b3 + 1] = slots[b3 + 1]! + h;
      if (counting) {
        slots[b0 + 2] = slots[b0 + 2]! + 1;
        slots[b1 + 2] = slots[b1 + 2]! + 1;
        slots[b2 + 2] = slots[b2 + 2]! + 1;
        slots[b3 + 2] = slots[b3 + 2]! + 1;
      }
    }
  }
  if (c + 2 <= c1) {
    const f0 = chosen[c]!;
    const f1 = chosen[c + 1]!;
    const o0 = base + offsets[f0]!;
    const o1 = base + offsets[f1]!;
    const m0 = f0 * n;
    const m1 = f1 * n;
    for (let j = 0; j < m; j++) {
      const i = index[begin + j]!;
      const g = grad[i]!;
      const h = hess[i]!;
      const b0 = o0 + stride * matrix[m0 + i]!;
      const b1 = o1 + stride * matrix[m1 + i]!;
      slots[b0] = slots[b0]! + g;
      slots[b0 + 1] = slots[b0 + 1]! + h;
      slots[b1] = slots[b1]! + g;
      slots[b1 + 1] = slots[b1 + 1]! + h;
      if (counting) {
        slots[b0 + 2] = slots[b0 + 2]! + 1;
        slots[b1 + 2] = slots[b1 + 2]! + 1;
      }
    }
    c += 2;
  }
  if (c < c1) {
    const f = chosen[c]!;
    const o = base + offsets[f]!;
    const column = f * n;
    for (let j = 0; j < m; j++) {
      const i = index[begin + j]!;
      const b = o + stride * matrix[column + i]!;
      slots[b] = slots[b]! + grad[i]!;
      slots[b + 1] = slots[b + 1]! + hess[i]!;
      if (counting) slots[b + 2] = slots[b + 2]! + 1;
    }
  }
}
