import { EXP_CHECK_COUNT, expCheckInputs, expKernel, expMatches } from './gbdt-exp-kernel.js';
import { cellwiseKernel, columnsKernel, gatherKernel, rowsKernel } from './gbdt-histogram-kernels.js';
import { type MarginGradients, marginKernel } from './gbdt-margin-kernel.js';
import { labelKernel, partitionKernel } from './gbdt-row-kernels.js';
import { splitKernel } from './gbdt-split-kernel.js';
import { encodeModule, type WasmMemory, wasm } from './wasm-encoder.js';

/*
 * The WebAssembly kernels of growing a tree (histograms: gbdt-histogram-kernels.ts; partitions and
 * leaf labels: gbdt-row-kernels.ts; split search: gbdt-split-kernel.ts; margins and gradients:
 * gbdt-margin-kernel.ts, with exp from gbdt-exp-kernel.ts), as one module compiled
 * once per thread and instantiated over the memory that holds a fit's histogram space
 * (gbdt-space.ts), which every thread of the fit shares. Each kernel does what a JavaScript
 * loop beside it does, to the same bits; the loops remain for spaces the kernels do not take.
 */

/** The kernels of one instance, bound to one memory. */
export interface HistogramKernels {
  /**
   * Row-major pass: for each row i of the index words [p, pend), its gh pair (at gh + 16 i) added to
   * the slot cell of each of its bins, read as u16 from bins + i * rowBytes: `quad` bytes of them
   * four at a time, then up to `span` bytes one at a time; the rows' gh pairs summed in index order
   * (as each chunk of gradientSumsByChunks in gbdt-histogram.ts adds them) go to the 16 bytes at `sum`.
   */
  rows(
    p: number,
    pend: number,
    gh: number,
    bins: number,
    rowBytes: number,
    quad: number,
    span: number,
    hist: number,
    sum: number,
  ): void;
  /** Column pass over four u8 columns: for each row i of [p, pend), the pair at `ordered` (16 bytes a row, in index order) added at h_f + 16 * column_f[i]. */
  columns4(
    p: number,
    pend: number,
    ordered: number,
    c0: number,
    h0: number,
    c1: number,
    h1: number,
    c2: number,
    h2: number,
    c3: number,
    h3: number,
  ): void;
  /** The same for one column. */
  columns1(p: number, pend: number, ordered: number, c0: number, h0: number): void;
  /** The gh pairs of the rows of the index words [p, pend), in that order, to `out` (16 bytes each). */
  gather(p: number, pend: number, gh: number, out: number): void;
  /**
   * Stable partition of the index words [p, pend) on u8 column `col`: the left rows (bin <= split)
   * to words from `l` on, the right ones to words from `r` on; returns where the left ones end.
   */
  partitionNumeric(p: number, pend: number, col: number, bin: number, l: number, r: number): number;
  /** The same for a categorical split: the rows of bin `bin` go right. */
  partitionCategory(p: number, pend: number, col: number, bin: number, l: number, r: number): number;
  /** leafOf (i32 words at `leafOf`) of the rows of [p, pend): `left` for bin <= split, else `right`. */
  labelNumeric(
    p: number,
    pend: number,
    col: number,
    bin: number,
    leafOf: number,
    left: number,
    right: number,
  ): void;
  /** The same for a categorical split: `right` for the rows of bin `bin`. */
  labelCategory(
    p: number,
    pend: number,
    col: number,
    bin: number,
    leafOf: number,
    left: number,
    right: number,
  ): void;
  /**
   * The best numeric split of one feature's `count` first bins (cells from `cell` on), as
   * searchSplit (gbdt-split.ts) scans them, against the gain in the split area at `area` (SplitArea);
   * returns the bin, or -1 when none beats that gain.
   */
  splitNumeric(cell: number, count: number, area: number): number;
  /** Cells [a, aend) minus the cells at b, pairwise (the larger child's histogram from its parent's). */
  subtract(a: number, aend: number, b: number): void;
  /** Cells [a, aend) plus the cells at b, pairwise (a dense build's row chunks added up). */
  add(a: number, aend: number, b: number): void;
  /** exp of each double at [src, end), as Math.exp computes it, to the doubles from `dst` on. */
  expRange(src: number, end: number, dst: number): void;
  /** The same two doubles at a time, with the two-lane exp (an even count of them). */
  expPairs(src: number, end: number, dst: number): void;
}

/**
 * The margin step (marginPart in gbdt-rows.ts) over rows [i, end), one margin per row, the next
 * gradients as named: returns the first row that needs a walk down the tree, or end.
 */
export type MarginKernel = (
  i: number,
  end: number,
  leafOf: number,
  margin: number,
  value: number,
  tracked: number,
  y: number,
  gh: number,
) => number;

/** The margin kernels by their exported names (gbdt-margin-kernel.ts MARGIN_KERNELS). */
export type MarginKernels = Record<`margin${Capitalize<MarginGradients>}`, MarginKernel>;

/** Compiled once per thread for each kind of memory (shared or not). */
const modules = new Map<boolean, object>();

/** The module for memories that are shared or not, compiled on first use in this thread. */
function compiled(shared: boolean): object {
  let module = modules.get(shared);
  if (module === undefined) {
    if (wasm === undefined) throw new Error('gbdt: this runtime has no WebAssembly');
    const bytes = encodeModule(
      [
        rowsKernel(),
        columnsKernel(4),
        columnsKernel(1),
        gatherKernel(),
        cellwiseKernel('subtract'),
        cellwiseKernel('add'),
        partitionKernel(false),
        partitionKernel(true),
        labelKernel(false),
        labelKernel(true),
        splitKernel(),
        expKernel(false),
        expKernel(true),
        marginKernel('none'),
        marginKernel('logloss'),
        marginKernel('squared'),
      ],
      shared,
    );
    module = new wasm.Module(bytes);
    modules.set(shared, module);
  }
  return module;
}

/**
 * Whether this runtime runs the kernels: it has WebAssembly with SIMD (V8 refuses SIMD code on
 * processors without SSE4.1, and --jitless has no WebAssembly at all). Where it does not, spaces
 * are laid out in plain buffers and the JavaScript loops do the same sums.
 */
export function kernelsAvailable(shared: boolean): boolean {
  try {
    compiled(shared);
    return true;
  } catch {
    return false;
  }
}

function instantiate(memory: WasmMemory): HistogramKernels & MarginKernels {
  if (wasm === undefined) throw new Error('gbdt: this runtime has no WebAssembly');
  const module = compiled(memory.buffer instanceof SharedArrayBuffer);
  const instance = new wasm.Instance(module, { env: { memory } });
  return instance.exports as unknown as HistogramKernels & MarginKernels;
}

/** Each thread's kernels for the memory it was last given (a fit's space keeps one memory). */
let bound: { memory: WasmMemory; kernels: HistogramKernels & MarginKernels } | undefined;

/** The kernels over `memory` (the module is compiled on first use in this thread). */
export function histogramKernels(memory: WasmMemory): HistogramKernels & MarginKernels {
  if (bound?.memory !== memory) bound = { memory, kernels: instantiate(memory) };
  return bound.kernels;
}

/** Lets go of this thread's kernels over `memory` (a finished fit's space), so the memory can be freed. */
export function releaseKernels(memory: WasmMemory | undefined): void {
  if (memory !== undefined && bound?.memory === memory) bound = undefined;
}

/** Whether the margin kernel may run on this platform at all (marginKernels says why x64 only). */
export function expKernelPlatform(): boolean {
  return process.arch === 'x64';
}

/** Whether this thread's module of each kind computes exp as Math.exp does (checked on first use). */
const expChecked = new Map<boolean, boolean>();

/**
 * The kernels over `memory` when their exp (one and two lanes) matched Math.exp bit for bit on the
 * self-check inputs (gbdt-exp-kernel.ts) in this thread, else undefined: the margins are then added by the
 * JavaScript loop, to the same bits. Checked once per thread, on a page of its own. Only on x64,
 * where the exp test proves the match on 17 million inputs: elsewhere V8's Math.exp may be built
 * with fused multiply-adds (arm64 compilers contract them by default), which would change few
 * enough results to pass a 4,000-input check and still change a model's bits.
 */
export function marginKernels(memory: WasmMemory): MarginKernels | undefined {
  const shared = memory.buffer instanceof SharedArrayBuffer;
  let trusted = expChecked.get(shared);
  if (trusted === undefined) {
    trusted = false;
    try {
      if (wasm === undefined) throw new Error('gbdt: this runtime has no WebAssembly');
      if (!expKernelPlatform()) throw new Error('gbdt: the exp kernel is proven on x64 only');
      const page = new wasm.Memory({ initial: 1, maximum: 1, shared });
      const inputs = new Float64Array(page.buffer, 0, EXP_CHECK_COUNT);
      inputs.set(expCheckInputs());
      const kernels = instantiate(page);
      const results = new Float64Array(page.buffer, 8 * EXP_CHECK_COUNT, EXP_CHECK_COUNT);
      kernels.expRange(0, 8 * EXP_CHECK_COUNT, 8 * EXP_CHECK_COUNT);
      trusted = expMatches(inputs, results);
      kernels.expPairs(0, 8 * EXP_CHECK_COUNT, 8 * EXP_CHECK_COUNT);
      trusted &&= expMatches(inputs, results);
    } catch {
      // No kernels here at all: the loop runs.
    }
    expChecked.set(shared, trusted);
  }
  return trusted ? histogramKernels(memory) : undefined;
}
