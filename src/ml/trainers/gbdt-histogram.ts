import { type HistogramKernels, histogramKernels } from './gbdt-kernels.js';
import { DENSE_CHUNKS, gatherLength, type HistogramSpace, SPARSE_NODE } from './gbdt-space.js';

/*
 * The one loop that fills a histogram slot (gbdt-space.ts), in its shapes. The same function runs
 * on the main thread and in histogram worker threads, over buffers that may be shared between them,
 * so that all see the same rows, gradients and histogram slots.
 *
 * Each feature's histogram is summed by one thread only, over the node's rows in ascending row order
 * (a dense single build's, over each of its DENSE_CHUNKS row chunks, added up in chunk order
 * afterwards, whatever the thread count): which thread sums which feature or chunk changes nothing
 * in the result, so models are the same bit for bit whatever the thread count. The hot loops run
 * as WebAssembly kernels (gbdt-histogram-kernels.ts) where the space lives in WebAssembly memory;
 * the JavaScript loops below give the same bits, for the shapes the kernels do not take.
 */

/**
 * Sums the gradients of index[begin, end) into slot `slot`, for the chosen features c0..c1-1
 * (zeroing their part of the slot first; other features' parts are left alone). One pass over the
 * rows reads each row's gradients and bins once for all its features; each feature's histogram still
 * sums its rows in ascending order, so the result does not depend on how features are split up.
 * Returns true when the rows' (g, h) sums, added in index order, are in rowSums[2 part] (the
 * row-major kernel's pass has them for one addition a row).
 */
export function buildHistogramPart(
  s: HistogramSpace,
  slot: number,
  begin: number,
  end: number,
  c0: number,
  c1: number,
  /** The calling thread's part of the build (which gather area it may use, where its row sums go). */
  part = 0,
  /** Sum the rows row-major (a dense node's, or a chunk of one), else from the columns. */
  dense = isDense(s, end - begin),
): boolean {
  const { binStart, chosen, stride, slots } = s;
  const base = slot * s.size;
  let contiguous = true;
  for (let c = c0; c < c1; c++) {
    const f = chosen[c]!;
    if (c > c0 && f !== chosen[c - 1]! + 1) contiguous = false;
    slots.fill(0, base + stride * binStart[f]!, base + stride * binStart[f + 1]!);
  }
  if (c1 <= c0) return false;
  const kernels = s.memory === undefined ? undefined : histogramKernels(s.memory);
  if (stride === 3) countingPass(s, base, begin, end, c0, c1);
  else if (!dense) {
    if (kernels !== undefined && s.columns instanceof Uint8Array && part < s.gatherParts) {
      const area = s.gathered.subarray(part * gatherLength(s.n));
      kernelColumnPass(kernels, s, base, begin, end, c0, c1, area);
    } else columnPass(s, base, begin, end, c0, c1);
  } else if (contiguous) {
    if (kernels !== undefined && s.bins instanceof Uint16Array) {
      kernelRowPass(kernels, s, base, begin, end, chosen[c0]!, c1 - c0, part);
      return true;
    }
    contiguousPass(s, base, begin, end, chosen[c0]!, chosen[c0]! + c1 - c0);
  } else chosenPass(s, base, begin, end, c0, c1);
  return false;
}

/**
 * Whether a node of `count` rows is dense: summed row-major (SPARSE_NODE), and, in a build of its
 * own (the root's), by row chunks (buildDenseChunks).
 */
export function isDense(s: HistogramSpace, count: number): boolean {
  return count * SPARSE_NODE >= s.n;
}

/** Rows [b, e) of chunk c of a dense build of index[begin, end). */
function chunkRows(begin: number, end: number, c: number): [number, number] {
  const span = end - begin;
  return [begin + Math.floor((c * span) / DENSE_CHUNKS), begin + Math.floor(((c + 1) * span) / DENSE_CHUNKS)];
}

/** The slot chunk c of a dense build into `slot` sums into: chunk 0 into the slot itself. */
function chunkSlot(s: HistogramSpace, slot: number, c: number): number {
  return c === 0 ? slot : s.slotCount + c - 1;
}

/**
 * Chunks [k0, k1) of a dense build of index[begin, end) into `slot` (DENSE_CHUNKS in all, however
 * many threads share them), over the chosen features c0..c1-1 (all of them, unless more threads than
 * chunks share a chunk's features): each chunk's rows into the chunk's slot, their (g, h) sums into
 * rowSums[2c], or (`sumsPart`: threads sharing a chunk) into that part's own pair, never read.
 * Returns true when these chunks left their sums there (the kernel's pass ran); when every chunk
 * is built over the same features, every chunk did. joinDenseChunks adds them up.
 */
export function buildDenseChunks(
  s: HistogramSpace,
  slot: number,
  begin: number,
  end: number,
  c0: number,
  c1: number,
  k0: number,
  k1: number,
  sumsPart?: number,
): boolean {
  let summed = k1 > k0;
  for (let c = k0; c < k1; c++) {
    const [b, e] = chunkRows(begin, end, c);
    summed = buildHistogramPart(s, chunkSlot(s, slot, c), b, e, c0, c1, sumsPart ?? c, true) && summed;
  }
  return summed;
}

/**
 * Once every chunk of a dense build is done: adds the chunks' slots into `slot` in chunk order, over
 * the chosen features, and (`summed`: the chunks left their row sums) their (g, h) sums into
 * rowSums[0, 2), as gradientSumsByChunks adds them.
 */
export function joinDenseChunks(s: HistogramSpace, slot: number, chosenCount: number, summed: boolean): void {
  const { slots, size, stride, binStart, chosen, rowSums } = s;
  const kernels = s.memory !== undefined && stride === 2 ? histogramKernels(s.memory) : undefined;
  const base = slot * size;
  for (let c = 1; c < DENSE_CHUNKS; c++) {
    const from = chunkSlot(s, slot, c) * size - base;
    for (let k = 0; k < chosenCount; k++) {
      const f = chosen[k]!;
      const b0 = base + stride * binStart[f]!;
      const b1 = base + stride * binStart[f + 1]!;
      if (kernels !== undefined) {
        const at = slots.byteOffset + 8 * b0;
        kernels.add(at, at + 8 * (b1 - b0), at + 8 * from);
        continue;
      }
      for (let b = b0; b < b1; b++) slots[b] = slots[b]! + slots[b + from]!;
    }
  }
  if (!summed) return;
  for (let c = 1; c < DENSE_CHUNKS; c++) {
    rowSums[0] = rowSums[0]! + rowSums[2 * c]!;
    rowSums[1] = rowSums[1]! + rowSums[2 * c + 1]!;
  }
}

/**
 * The (g, h) sums of index[begin, end) as a dense build's chunks give them (joinDenseChunks): each
 * chunk's rows added in index order, then the chunks' sums in chunk order. (A function of its own,
 * not a loop inside the grower's grow(): there V8 compiled grow() on the stack mid-loop, before the
 * code after the loop had type feedback, and threw it away again on nearly every tree.)
 */
export function gradientSumsByChunks(s: HistogramSpace, begin: number, end: number): [number, number] {
  const { index, gh } = s;
  let g = 0;
  let h = 0;
  for (let c = 0; c < DENSE_CHUNKS; c++) {
    const [b, e] = chunkRows(begin, end, c);
    let cg = 0;
    let ch = 0;
    for (let k = b; k < e; k++) {
      const i = index[k]!;
      cg += gh[2 * i]!;
      ch += gh[2 * i + 1]!;
    }
    g = c === 0 ? cg : g + cg;
    h = c === 0 ? ch : h + ch;
  }
  return [g, h];
}

/**
 * This thread's copy of a sparse node's gradients in row order (columnPass): one scattered read of
 * gh per row instead of one per four features. Module state, so each worker thread has its own.
 */
let gathered = new Float64Array(0);

/** gh of index[begin, end), in that order, into `gathered`. */
function gatherGradients(s: HistogramSpace, begin: number, end: number): Float64Array {
  const { index, gh } = s;
  // Sparse nodes hold under n / SPARSE_NODE rows: a buffer that size serves every one of them.
  if (gathered.length < 2 * (end - begin))
    gathered = new Float64Array(2 * Math.max(end - begin, Math.ceil(s.n / SPARSE_NODE)));
  const ordered = gathered;
  for (let k = begin, at = 0; k < end; k++, at += 2) {
    const i = index[k]!;
    ordered[at] = gh[2 * i]!;
    ordered[at + 1] = gh[2 * i + 1]!;
  }
  return ordered;
}

/** Features four to a pass over the rows, reading the column-major bins (sparse nodes). */
function columnPass(s: HistogramSpace, base: number, begin: number, end: number, c0: number, c1: number) {
  const { columns, n, index, chosen, binStart, slots } = s;
  const count = end - begin;
  const ordered = gatherGradients(s, begin, end);
  let c = c0;
  for (; c + 4 <= c1; c += 4) {
    const f0 = chosen[c]!;
    const f1 = chosen[c + 1]!;
    const f2 = chosen[c + 2]!;
    const f3 = chosen[c + 3]!;
    const o0 = base + 2 * binStart[f0]!;
    const o1 = base + 2 * binStart[f1]!;
    const o2 = base + 2 * binStart[f2]!;
    const o3 = base + 2 * binStart[f3]!;
    const m0 = f0 * n;
    const m1 = f1 * n;
    const m2 = f2 * n;
    const m3 = f3 * n;
    for (let k = 0; k < count; k++) {
      const i = index[begin + k]!;
      const g = ordered[2 * k]!;
      const h = ordered[2 * k + 1]!;
      const b0 = o0 + 2 * columns[m0 + i]!;
      const b1 = o1 + 2 * columns[m1 + i]!;
      const b2 = o2 + 2 * columns[m2 + i]!;
      const b3 = o3 + 2 * columns[m3 + i]!;
      slots[b0] = slots[b0]! + g;
      slots[b0 + 1] = slots[b0 + 1]! + h;
      slots[b1] = slots[b1]! + g;
      slots[b1 + 1] = slots[b1 + 1]! + h;
      slots[b2] = slots[b2]! + g;
      slots[b2 + 1] = slots[b2 + 1]! + h;
      slots[b3] = slots[b3]! + g;
      slots[b3 + 1] = slots[b3 + 1]! + h;
    }
  }
  for (; c < c1; c++) {
    const f = chosen[c]!;
    const o = base + 2 * binStart[f]!;
    const m = f * n;
    for (let k = 0; k < count; k++) {
      const b = o + 2 * columns[m + index[begin + k]!]!;
      slots[b] = slots[b]! + ordered[2 * k]!;
      slots[b + 1] = slots[b + 1]! + ordered[2 * k + 1]!;
    }
  }
}

/** Features f0..f1-1 (all of them, or a thread's share), no row counts: the hot loop of a fit. */
function contiguousPass(s: HistogramSpace, base: number, begin: number, end: number, f0: number, f1: number) {
  const { bins, width, index, gh, slots } = s;
  const span = f1 - f0;
  const by4 = span & ~3;
  // A slot's bin b is at base + 2b: shift the slot once, so each cell costs a shift and an add.
  const hist = base === 0 ? slots : slots.subarray(base, base + s.size);
  for (let k = begin; k < end; k++) {
    const i = index[k]!;
    const g = gh[2 * i]!;
    const h = gh[2 * i + 1]!;
    const r = i * width + f0;
    const r4 = r + by4;
    let at = r;
    for (; at < r4; at += 4) {
      const b0 = bins[at]! << 1;
      const b1 = bins[at + 1]! << 1;
      const b2 = bins[at + 2]! << 1;
      const b3 = bins[at + 3]! << 1;
      hist[b0] = hist[b0]! + g;
      hist[b0 + 1] = hist[b0 + 1]! + h;
      hist[b1] = hist[b1]! + g;
      hist[b1 + 1] = hist[b1 + 1]! + h;
      hist[b2] = hist[b2]! + g;
      hist[b2 + 1] = hist[b2 + 1]! + h;
      hist[b3] = hist[b3]! + g;
      hist[b3 + 1] = hist[b3 + 1]! + h;
    }
    for (const to = r + span; at < to; at++) {
      const b = bins[at]! << 1;
      hist[b] = hist[b]! + g;
      hist[b + 1] = hist[b + 1]! + h;
    }
  }
}

/** A drawn subset of the features (colsample), no row counts. */
function chosenPass(s: HistogramSpace, base: number, begin: number, end: number, c0: number, c1: number) {
  const { bins, width, index, gh, chosen, slots } = s;
  const hist = slots.subarray(base, base + s.size);
  for (let k = begin; k < end; k++) {
    const i = index[k]!;
    const g = gh[2 * i]!;
    const h = gh[2 * i + 1]!;
    const r = i * width;
    for (let c = c0; c < c1; c++) {
      const b = bins[r + chosen[c]!]! << 1;
      hist[b] = hist[b]! + g;
      hist[b + 1] = hist[b + 1]! + h;
    }
  }
}

/** Any chosen features, with a row count per bin (min_samples_leaf). */
function countingPass(s: HistogramSpace, base: number, begin: number, end: number, c0: number, c1: number) {
  const { bins, width, index, gh, chosen, slots } = s;
  const hist = slots.subarray(base, base + s.size);
  for (let k = begin; k < end; k++) {
    const i = index[k]!;
    const g = gh[2 * i]!;
    const h = gh[2 * i + 1]!;
    const r = i * width;
    for (let c = c0; c < c1; c++) {
      const b = 3 * bins[r + chosen[c]!]!;
      hist[b] = hist[b]! + g;
      hist[b + 1] = hist[b + 1]! + h;
      hist[b + 2] = hist[b + 2]! + 1;
    }
  }
}

/**
 * contiguousPass as a kernel: the rows of index[begin, end), features f0 .. f0 + span - 1, into the
 * slot at `base` (bins u16, every array in s.memory); the rows' gh sums into part `part`'s rowSums.
 */
export function kernelRowPass(
  k: HistogramKernels,
  s: HistogramSpace,
  base: number,
  begin: number,
  end: number,
  f0: number,
  span: number,
  part: number,
): void {
  const { index, gh, bins, slots } = s;
  const p = index.byteOffset + 4 * begin;
  const rowBytes = 2 * s.width;
  k.rows(
    p,
    p + 4 * (end - begin),
    gh.byteOffset,
    bins.byteOffset + 2 * f0,
    rowBytes,
    2 * (span & ~3),
    2 * span,
    slots.byteOffset + 8 * base,
    s.rowSums.byteOffset + 16 * part,
  );
}

/**
 * columnPass as kernels: the gh pairs of index[begin, end) gathered into `area` (this thread's),
 * then the chosen features c0..c1-1 four columns (u8) to a pass over them.
 */
export function kernelColumnPass(
  k: HistogramKernels,
  s: HistogramSpace,
  base: number,
  begin: number,
  end: number,
  c0: number,
  c1: number,
  area: Float64Array,
): void {
  const { index, gh, columns, chosen, binStart, n } = s;
  const p = index.byteOffset + 4 * begin;
  const pend = p + 4 * (end - begin);
  const ordered = area.byteOffset;
  k.gather(p, pend, gh.byteOffset, ordered);
  const hist = s.slots.byteOffset + 8 * base;
  const column = (c: number) => columns.byteOffset + chosen[c]! * n;
  const slotAt = (c: number) => hist + 16 * binStart[chosen[c]!]!;
  let c = c0;
  for (; c + 4 <= c1; c += 4)
    k.columns4(
      p,
      pend,
      ordered,
      column(c),
      slotAt(c),
      column(c + 1),
      slotAt(c + 1),
      column(c + 2),
      slotAt(c + 2),
      column(c + 3),
      slotAt(c + 3),
    );
  for (; c < c1; c++) k.columns1(p, pend, ordered, column(c), slotAt(c));
}

/** slot[large] -= slot[small] over feature f's bins (stride 2), as the JavaScript loop does it. */
export function kernelSubtract(
  k: HistogramKernels,
  s: HistogramSpace,
  large: number,
  small: number,
  f: number,
): void {
  const { slots, size, binStart } = s;
  const from = 16 * binStart[f]!;
  const to = 16 * binStart[f + 1]!;
  const a = slots.byteOffset + 8 * large * size;
  const b = slots.byteOffset + 8 * small * size;
  k.subtract(a + from, a + to, b + from);
}
