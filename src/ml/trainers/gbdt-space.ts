import { kernelsAvailable } from './gbdt-kernels.js';
import { SplitArea } from './gbdt-split-kernel.js';
import { type WasmMemory, wasm } from './wasm-encoder.js';

/*
 * The histogram space: the arrays a tree is grown on, shared by the main thread and the gbdt worker
 * threads (SharedArrayBuffer-backed when threads share them), and laid out in one WebAssembly memory
 * so that the kernels (gbdt-kernels.ts) read and write the same bytes as the JavaScript loops.
 */

/** Int32 words per job of a level step (gbdt-level.ts). */
export const JOB_WORDS = 8;

/**
 * Most threads a level's row step is split between (more take no rows): bounds the left counts
 * kept per job (chunkLefts).
 */
export const ROW_CHUNKS = 16;

/** Doubles of one split search result (gbdt-split.ts): gain (-Infinity: none), feature, bin, gl, hl. */
export const RESULT_DOUBLES = 5;

/** Plain or shared typed-array storage: the threaded builder passes SharedArrayBuffer-backed arrays. */
export type Storage = (bytes: number) => ArrayBuffer | SharedArrayBuffer;

export const plainStorage: Storage = (bytes) => new ArrayBuffer(bytes);
export const sharedStorage: Storage = (bytes) => new SharedArrayBuffer(bytes);

/** Row-major global bins: one entry per (row, feature), small enough for 16 bits in practice. */
export type BinMatrix = Uint16Array | Uint32Array;

/** Everything the histogram loops read and write; every array may live in shared memory. */
export interface HistogramSpace {
  /**
   * The same bins per feature, column-major and numbered within the feature: feature f's bin of row
   * i is columns[f * n + i]. Partitioning and tree walks read one feature of many rows, one byte
   * each here instead of a cache line each in `bins`.
   */
  columns: Uint8Array | Uint16Array;
  /**
   * Bins, row-major, numbered across features: feature f's bin b of row i is
   * bins[i * width + f] = binStart[f] + b. A row's bins share a cache line, so a node whose rows are
   * scattered costs one line per row, not one per feature, and the loop needs no per-feature offset.
   */
  bins: BinMatrix;
  n: number;
  /** Features per row. */
  width: number;
  /** First global bin of feature f; binStart[width] is the total bin count. */
  binStart: Int32Array;
  /**
   * The rows of the tree being grown, partitioned in place as it grows: each node owns a range
   * [begin, end), in ascending row order.
   */
  index: Uint32Array;
  /** Gradient and hessian of every row, interleaved (gh[2i], gh[2i + 1]); set before each tree. */
  gh: Float64Array;
  /** The tree's features (indices into the binned features); chosenCount of them are in use. */
  chosen: Int32Array;
  /** Doubles per bin: gradient, hessian and, when rows are counted, a row count. */
  stride: 2 | 3;
  /**
   * Histogram slots, one after another, `size` doubles each (global bin b at stride * b): the
   * tree's `slotCount`, then DENSE_CHUNKS - 1 for the row chunks of a dense build
   * (gbdt-histogram.ts buildDenseChunks).
   */
  slots: Float64Array;
  size: number;
  /** The slots a tree is grown with (those after them are the dense builds' chunk slots). */
  slotCount: number;
  /** The jobs of one level step (gbdt-level.ts), JOB_WORDS words each. */
  jobs: Int32Array;
  /** Partition scratch: a node's right rows go to scratch[begin, ...) (nodes never overlap). */
  scratch: Uint32Array;
  /** Left rows of each row job's piece in each thread's share (gbdt-level.ts), ROW_CHUNKS per job. */
  chunkLefts: Int32Array;
  /** Leaf of each row in the tree being grown, -1 for rows it was not grown on (reset once read). */
  leafOf: Int32Array;
  /**
   * The memory every array above lives in, for the WebAssembly kernels; undefined for a space too
   * big for one (the JavaScript loops then do the same sums).
   */
  memory: WasmMemory | undefined;
  /** Sparse nodes' gradients in row order (columnPass), gatherLength(n) doubles for each part. */
  gathered: Float64Array;
  /** Parts (threads) with an area in `gathered`: part p's starts at p * gatherLength(n). */
  gatherParts: number;
  /** Each part's split search kernel inputs and outputs (SplitArea.bytes from part * SplitArea.bytes). */
  splitArea: Float64Array;
  /** The split search's settings (gbdt-split.ts SplitSetting), set by the grower. */
  splitSettings: Float64Array;
  /** Bins of each feature (at most its bound in binStart) and 1 where it is numeric: set by the grower. */
  splitBinCount: Int32Array;
  splitNumeric: Uint8Array;
  /**
   * The split searches of each histogram job's children, by part: job j's small child (side 0) or
   * large child (side 1), part p, at RESULT_DOUBLES * ((2j + side) * splitParts + p).
   */
  splitResults: Float64Array;
  /** Parts (threads) the split results have room for. */
  splitParts: number;
  /** Each histogram job's children's sums: small (g, h), then large (g, h), 4 doubles a job. */
  jobSums: Float64Array;
  /**
   * The (g, h) sums of the rows of each dense chunk's row-major kernel build (chunk c's at 2c, and
   * so for each part of a level's builds): the root's sums come with its histogram instead of from
   * a pass of their own.
   */
  rowSums: Float64Array;
  /** The row space's arrays that the margin kernel reads and writes (empty unless asked for). */
  rowArrays: RowArrays;
}

/**
 * The arrays of a row space (gbdt-rows.ts) that live in the histogram space's memory, beside gh and
 * leafOf, for the margin kernel (gbdt-margin-kernel.ts).
 */
export interface RowArrays {
  /** kc margins per row (in buffers of their own when kc > 1: the kernel takes one a row). */
  margin: Float64Array;
  y: Float64Array;
  tracked: Uint8Array;
  /** Each node's value in the tree being added (treeCapacity of them). */
  value: Float64Array;
}

/** First global bin of each feature (and the total at the end). */
function fillBinStarts(start: Int32Array, binCounts: number[]): void {
  for (let f = 0; f < binCounts.length; f++) start[f + 1] = start[f]! + binCounts[f]!;
}

/** Allocates one typed array of `count` elements (zeroed). */
type Allocate = <A extends TypedArray>(type: TypedArrayType<A>, count: number) => A;
type TypedArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;
interface TypedArrayType<A extends TypedArray> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): A;
  readonly BYTES_PER_ELEMENT: number;
}

/**
 * Largest space laid out in WebAssembly memory (for the kernels): its byte addresses, and products
 * like row * row bytes, stay below 2^31. Bigger spaces (billions of cells) use the JavaScript loops.
 */
const MAX_KERNEL_BYTES = 2 ** 31 - 2 ** 20;

/**
 * Allocates the arrays of a space for features of at most binCounts[f] bins each (the bins are
 * filled in afterwards, by the binning): feature f's global bins start at the sum of the bounds
 * before it, so the layout is known before any feature is binned. Every array lives in one
 * WebAssembly memory, shared when `storage` is, so that the kernels (gbdt-kernels.ts) and
 * every thread read and write the same bytes.
 */
export function createHistogramSpace(opts: {
  n: number;
  binCounts: number[];
  countRows: boolean;
  slotCount: number;
  /** Most jobs in one level step. */
  jobCapacity: number;
  /** Most threads that build histograms at once (each gets its own gather area). */
  threads: number;
  storage: Storage;
  /** false: plain buffers and the JavaScript loops even where the kernels could run (tests). */
  kernels?: boolean;
  /** Room for a row space's arrays (rowArrays): margins per row, nodes per tree. */
  rows?: { kc: number; treeCapacity: number };
}): HistogramSpace {
  // Measure first (arrays of no length), then lay everything out in one memory of that size.
  let bytes = 0;
  const measure: Allocate = (type, count) => {
    bytes += align(count * type.BYTES_PER_ELEMENT);
    return new type(new ArrayBuffer(0), 0, 0);
  };
  // Shared memory when the caller shares its arrays with worker threads.
  const shared = opts.storage(0) instanceof SharedArrayBuffer;
  const separate: Allocate = (type, count) =>
    new type(opts.storage(count * type.BYTES_PER_ELEMENT), 0, count);
  // Arrays kept outside the memory take no room in it.
  layoutSpace(opts, measure, undefined, true, (type) => new type(new ArrayBuffer(0), 0, 0));
  if (wasm === undefined || opts.kernels === false || bytes > MAX_KERNEL_BYTES || !kernelsAvailable(shared))
    return layoutSpace(opts, separate, undefined, false, separate);
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  let memory: WasmMemory;
  try {
    memory = new wasm.Memory({ initial: pages, maximum: pages, shared });
  } catch {
    // No room for one memory of that size (address space reserved by other fits' memories, say):
    // the arrays go in buffers of their own and the JavaScript loops run.
    return layoutSpace(opts, separate, undefined, false, separate);
  }
  let at = 0;
  const carve: Allocate = (type, count) => {
    const array = new type(memory.buffer, at, count);
    at += align(count * type.BYTES_PER_ELEMENT);
    return array;
  };
  return layoutSpace(opts, carve, memory, true, separate);
}

/** Sizes rounded up to 16 bytes, the kernels' cell (and every typed array's alignment). */
function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

function layoutSpace(
  opts: Parameters<typeof createHistogramSpace>[0],
  allocate: Allocate,
  memory: WasmMemory | undefined,
  /** Whether the kernels will run on it (they need the gather areas). */
  kernels: boolean,
  /** Plain or shared buffers of their own, outside the memory. */
  outside: Allocate,
): HistogramSpace {
  const { n, binCounts } = opts;
  const width = binCounts.length;
  const binStart = allocate(Int32Array, width + 1);
  fillBinStarts(binStart, binCounts);
  const total = binCounts.reduce((sum, count) => sum + count, 0);
  const cells = n * width;
  const stride = opts.countRows ? 3 : 2;
  const size = stride * total;
  // 4n bytes an area: a thread count past the row steps' own bound sums its sparse nodes with the
  // JavaScript loop instead (the same bits).
  const gatherParts = Math.min(Math.max(1, opts.threads), ROW_CHUNKS);
  const parts = Math.max(1, opts.threads);
  return {
    bins: total <= 1 << 16 ? allocate(Uint16Array, cells) : allocate(Uint32Array, cells),
    columns: Math.max(0, ...binCounts) <= 256 ? allocate(Uint8Array, cells) : allocate(Uint16Array, cells),
    n,
    width,
    binStart,
    index: allocate(Uint32Array, n),
    gh: allocate(Float64Array, 2 * n),
    chosen: allocate(Int32Array, width),
    stride,
    slots: allocate(Float64Array, size * (opts.slotCount + DENSE_CHUNKS - 1)),
    size,
    slotCount: opts.slotCount,
    jobs: allocate(Int32Array, JOB_WORDS * opts.jobCapacity),
    scratch: allocate(Uint32Array, n),
    chunkLefts: allocate(Int32Array, ROW_CHUNKS * opts.jobCapacity),
    leafOf: allocate(Int32Array, n).fill(-1),
    memory,
    gathered: allocate(Float64Array, kernels ? gatherParts * gatherLength(n) : 0),
    gatherParts: kernels ? gatherParts : 0,
    splitArea: allocate(Float64Array, (SplitArea.bytes / 8) * parts),
    splitSettings: allocate(Float64Array, 4),
    splitBinCount: allocate(Int32Array, width),
    splitNumeric: allocate(Uint8Array, width),
    splitResults: allocate(Float64Array, RESULT_DOUBLES * 2 * parts * opts.jobCapacity),
    splitParts: parts,
    jobSums: allocate(Float64Array, 4 * opts.jobCapacity),
    rowSums: allocate(Float64Array, 2 * Math.max(parts, DENSE_CHUNKS)),
    // The single-margin row arrays (about 17 bytes a row) count toward the memory's size limit like
    // the rest: a space that would have fitted just under it without them now takes the
    // JavaScript loops, all of them (the same bits, slower).
    rowArrays: {
      // Several margins a row (multiclass) are for the JavaScript loop alone: kept out of the
      // memory, they cannot push a big space past what the kernels take.
      margin:
        opts.rows === undefined || opts.rows.kc === 1
          ? allocate(Float64Array, opts.rows === undefined ? 0 : n)
          : outside(Float64Array, n * opts.rows.kc),
      y: allocate(Float64Array, opts.rows === undefined ? 0 : n),
      tracked: allocate(Uint8Array, opts.rows === undefined ? 0 : n),
      value: allocate(Float64Array, opts.rows?.treeCapacity ?? 0),
    },
  };
}

/**
 * A node holding under 1/SPARSE_NODE of the rows is summed from the column-major bins: its rows are
 * far apart, each one a cache miss, and a pass over four features' columns misses less than fetching
 * each row's line of `bins` (measured with cold caches: 2.6-3.5 against 6-8 ns per cell at 1/16 of
 * the rows; the row-major pass wins at 40% of the rows and above). Both sum each feature's rows in
 * the same order, so the choice changes no bit.
 */
export const SPARSE_NODE = 4;

/**
 * Row chunks a dense build (the root's) is cut into, whatever the thread count: each chunk sums
 * every feature over its rows into a slot of its own, and the chunks' slots are added up in chunk
 * order (gbdt-histogram.ts). Two threads then share the root by rows, each reading only its rows'
 * lines of `bins`; shared by features, both read every row's line (a row's bins share one), and
 * the root's build on 2 threads took 80% of its time on 1. More threads share each chunk's features.
 * The chunks do not depend on the threads, so neither do the sums. Two, for 2 cores: every further
 * chunk zeroes and adds a slot of its own on every tree, whatever the thread count.
 */
export const DENSE_CHUNKS = 2;

/** Doubles of one part's gather area: the gh pairs of a sparse node's rows (under n / SPARSE_NODE). */
export function gatherLength(n: number): number {
  return 2 * Math.ceil(n / SPARSE_NODE);
}
