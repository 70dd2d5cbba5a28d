import type { HistogramSpace } from './gbdt-histogram.js';
import {
  Code,
  encodeModule,
  F64,
  type FunctionDef,
  I32,
  V128,
  type WasmMemory,
  wasm,
} from './wasm-encoder.js';

/*
 * The hot loops of growing a tree as WebAssembly, over the memory that holds the histogram space
 * (gbdt-histogram.ts). Histograms: a bin's (gradient, hessian) pair is one 16-byte slot cell, added with one
 * f64x2.add, and no access is bounds-checked (V8 guards wasm memory with unmapped pages instead).
 * Each lane is the same IEEE double addition as the JavaScript loop, in the same row order, so the
 * sums are the same bits. Rows: the partition and leaf labels of a split node's rows, as the
 * JavaScript loops of gbdt-level.ts do them. Arguments are byte addresses in the memory.
 */

/** The kernels of one instance, bound to one memory. */
export interface HistogramKernels {
  /**
   * Row-major pass: for each row i of the index words [p, pend), its gh pair (at gh + 16 i) added to
   * the slot cell of each of its bins, read as u16 from bins + i * rowBytes: `quad` bytes of them
   * four at a time, then up to `span` bytes one at a time.
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
   * TreeGrower.bestSplit scans them, against the gain in the split area at `area` (SplitArea);
   * returns the bin, or -1 when none beats that gain.
   */
  splitNumeric(cell: number, count: number, area: number): number;
  /** Cells [a, aend) minus the cells at b, pairwise (the larger child's histogram from its parent's). */
  subtract(a: number, aend: number, b: number): void;
}

// Parameter and local numbers of each kernel, named as in its WAT.

/*
 * (func $rows (param $p $pend $gh $bins $rowBytes $quad $span $hist i32)
 *   (local $i i32) (local $v v128) (local $r i32) (local $r4 i32) (local $rend i32) (local $a i32)
 *   (block (br_if 0 (i32.ge_u $p $pend))
 *     (loop
 *       (local.set $i (i32.load $p))
 *       (local.set $v (v128.load (i32.add (i32.shl $i 4) $gh)))
 *       (local.set $r4 (i32.add (local.tee $r (i32.add (i32.mul $i $rowBytes) $bins)) $quad))
 *       (local.set $rend (i32.add $r $span))
 *       (block (br_if 0 (i32.ge_u $r $r4))
 *         (loop (cell 0) (cell 2) (cell 4) (cell 6)
 *           (br_if 0 (i32.lt_u (local.tee $r (i32.add $r 8)) $r4))))
 *       (block (br_if 0 (i32.ge_u $r $rend))
 *         (loop (cell 0)
 *           (br_if 0 (i32.lt_u (local.tee $r (i32.add $r 2)) $rend))))
 *       (br_if 0 (i32.lt_u (local.tee $p (i32.add $p 4)) $pend)))))
 * (cell k) = (v128.store (local.tee $a (i32.add (i32.shl (i32.load16_u offset=k $r) 4) $hist))
 *              (f64x2.add (v128.load $a) $v))
 */
function rowsKernel(): FunctionDef {
  const [p, pend, gh, bins, rowBytes, quad, span, hist] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [i, v, r, r4, rend, a] = [8, 9, 10, 11, 12, 13];
  const c = new Code();
  const cell = (offset: number) =>
    c
      .get(r)
      .i32Load16U(offset)
      .i32Const(4)
      .i32Shl()
      .get(hist)
      .i32Add()
      .tee(a)
      .get(a)
      .v128Load()
      .get(v)
      .f64x2Add()
      .v128Store();
  c.block().get(p).get(pend).i32GeU().brIf(0).loop();
  c.get(p).i32Load().set(i);
  c.get(i).i32Const(4).i32Shl().get(gh).i32Add().v128Load().set(v);
  c.get(i).get(rowBytes).i32Mul().get(bins).i32Add().tee(r).get(quad).i32Add().set(r4);
  c.get(r).get(span).i32Add().set(rend);
  c.block().get(r).get(r4).i32GeU().brIf(0).loop();
  for (const offset of [0, 2, 4, 6]) cell(offset);
  c.get(r).i32Const(8).i32Add().tee(r).get(r4).i32LtU().brIf(0).end().end();
  c.block().get(r).get(rend).i32GeU().brIf(0).loop();
  cell(0);
  c.get(r).i32Const(2).i32Add().tee(r).get(rend).i32LtU().brIf(0).end().end();
  c.get(p).i32Const(4).i32Add().tee(p).get(pend).i32LtU().brIf(0).end().end();
  return { name: 'rows', params: 8, locals: [I32, V128, I32, I32, I32, I32], code: c };
}

/*
 * (func $columnsK (param $p $pend $ordered i32) (param $c0 $h0 ... $cK-1 $hK-1 i32)
 *   (local $i i32) (local $v v128) (local $a i32)
 *   (block (br_if 0 (i32.ge_u $p $pend))
 *     (loop
 *       (local.set $i (i32.load $p))
 *       (local.set $v (v128.load $ordered))
 *       ;; for each f < K:
 *       (v128.store (local.tee $a (i32.add (i32.shl (i32.load8_u (i32.add $cf $i)) 4) $hf))
 *         (f64x2.add (v128.load $a) $v))
 *       (local.set $ordered (i32.add $ordered 16))
 *       (br_if 0 (i32.lt_u (local.tee $p (i32.add $p 4)) $pend)))))
 */
function columnsKernel(k: number): FunctionDef {
  const [p, pend, ordered] = [0, 1, 2];
  const params = 3 + 2 * k;
  const [i, v, a] = [params, params + 1, params + 2];
  const c = new Code();
  c.block().get(p).get(pend).i32GeU().brIf(0).loop();
  c.get(p).i32Load().set(i);
  c.get(ordered).v128Load().set(v);
  for (let f = 0; f < k; f++) {
    c.get(3 + 2 * f)
      .get(i)
      .i32Add()
      .i32Load8U()
      .i32Const(4)
      .i32Shl()
      .get(4 + 2 * f)
      .i32Add()
      .tee(a);
    c.get(a).v128Load().get(v).f64x2Add().v128Store();
  }
  c.get(ordered).i32Const(16).i32Add().set(ordered);
  c.get(p).i32Const(4).i32Add().tee(p).get(pend).i32LtU().brIf(0).end().end();
  return { name: `columns${k}`, params, locals: [I32, V128, I32], code: c };
}

/*
 * (func $gather (param $p $pend $gh $out i32)
 *   (block (br_if 0 (i32.ge_u $p $pend))
 *     (loop
 *       (v128.store $out (v128.load (i32.add (i32.shl (i32.load $p) 4) $gh)))
 *       (local.set $out (i32.add $out 16))
 *       (br_if 0 (i32.lt_u (local.tee $p (i32.add $p 4)) $pend)))))
 */
function gatherKernel(): FunctionDef {
  const [p, pend, gh, out] = [0, 1, 2, 3];
  const c = new Code();
  c.block().get(p).get(pend).i32GeU().brIf(0).loop();
  c.get(out).get(p).i32Load().i32Const(4).i32Shl().get(gh).i32Add().v128Load().v128Store();
  c.get(out).i32Const(16).i32Add().set(out);
  c.get(p).i32Const(4).i32Add().tee(p).get(pend).i32LtU().brIf(0).end().end();
  return { name: 'gather', params: 4, locals: [], code: c };
}

/*
 * (func $subtract (param $a $aend $b i32)
 *   (block (br_if 0 (i32.ge_u $a $aend))
 *     (loop
 *       (v128.store $a (f64x2.sub (v128.load $a) (v128.load $b)))
 *       (local.set $b (i32.add $b 16))
 *       (br_if 0 (i32.lt_u (local.tee $a (i32.add $a 16)) $aend)))))
 */
function subtractKernel(): FunctionDef {
  const [a, aend, b] = [0, 1, 2];
  const c = new Code();
  c.block().get(a).get(aend).i32GeU().brIf(0).loop();
  c.get(a).get(a).v128Load().get(b).v128Load().f64x2Sub().v128Store();
  c.get(b).i32Const(16).i32Add().set(b);
  c.get(a).i32Const(16).i32Add().tee(a).get(aend).i32LtU().brIf(0).end().end();
  return { name: 'subtract', params: 3, locals: [], code: c };
}

/*
 * (func $partitionNumeric (param $p $pend $col $bin $l $r i32) (result i32)
 *   (local $i i32) (local $s i32)
 *   (block (br_if 0 (i32.ge_u $p $pend))
 *     (loop
 *       (local.set $i (i32.load $p))
 *       ;; 4 when the row goes right, else 0: written to both sides, only one cursor moves
 *       ;; (branch-free: which way a row goes is a coin toss to the branch predictor)
 *       (local.set $s (i32.shl (i32.gt_u (i32.load8_u (i32.add $col $i)) $bin) 2))
 *       (i32.store $l $i)
 *       (i32.store $r $i)
 *       (local.set $l (i32.sub (i32.add $l 4) $s))
 *       (local.set $r (i32.add $r $s))
 *       (br_if 0 (i32.lt_u (local.tee $p (i32.add $p 4)) $pend))))
 *   $l)
 * $partitionCategory: i32.eq in place of i32.gt_u.
 */
function partitionKernel(categorical: boolean): FunctionDef {
  const [p, pend, col, bin, l, r] = [0, 1, 2, 3, 4, 5];
  const [i, s] = [6, 7];
  const c = new Code();
  c.block().get(p).get(pend).i32GeU().brIf(0).loop();
  c.get(p).i32Load().set(i);
  c.get(col).get(i).i32Add().i32Load8U().get(bin);
  if (categorical) c.i32Eq();
  else c.i32GtU();
  c.i32Const(2).i32Shl().set(s);
  c.get(l).get(i).i32Store();
  c.get(r).get(i).i32Store();
  c.get(l).i32Const(4).i32Add().get(s).i32Sub().set(l);
  c.get(r).get(s).i32Add().set(r);
  c.get(p).i32Const(4).i32Add().tee(p).get(pend).i32LtU().brIf(0).end().end();
  c.get(l);
  const name = categorical ? 'partitionCategory' : 'partitionNumeric';
  return { name, params: 6, result: true, locals: [I32, I32], code: c };
}

/*
 * (func $labelNumeric (param $p $pend $col $bin $leafOf $left $right i32)
 *   (local $i i32)
 *   (block (br_if 0 (i32.ge_u $p $pend))
 *     (loop
 *       (local.set $i (i32.load $p))
 *       (i32.store (i32.add (i32.shl $i 2) $leafOf)
 *         (select $right $left (i32.gt_u (i32.load8_u (i32.add $col $i)) $bin)))
 *       (br_if 0 (i32.lt_u (local.tee $p (i32.add $p 4)) $pend)))))
 * $labelCategory: i32.eq in place of i32.gt_u.
 */
function labelKernel(categorical: boolean): FunctionDef {
  const [p, pend, col, bin, leafOf, left, right] = [0, 1, 2, 3, 4, 5, 6];
  const i = 7;
  const c = new Code();
  c.block().get(p).get(pend).i32GeU().brIf(0).loop();
  c.get(p).i32Load().set(i);
  c.get(i).i32Const(2).i32Shl().get(leafOf).i32Add();
  c.get(right).get(left).get(col).get(i).i32Add().i32Load8U().get(bin);
  if (categorical) c.i32Eq();
  else c.i32GtU();
  c.select().i32Store();
  c.get(p).i32Const(4).i32Add().tee(p).get(pend).i32LtU().brIf(0).end().end();
  return { name: categorical ? 'labelCategory' : 'labelNumeric', params: 7, locals: [I32], code: c };
}

/**
 * Byte offsets in the split area of splitNumeric: the node's sums (g, h), (lambda, lambda),
 * min_child_weight, the parent's score, the gain to beat (updated), and the best left sums (gl, hl).
 */
export const SplitArea = {
  gh: 0,
  lambda: 16,
  minChildWeight: 32,
  parentScore: 40,
  gain: 48,
  left: 64,
  bytes: 80,
} as const;

/*
 * (func $splitNumeric (param $cell $count $area i32) (result i32)
 *   (local $b $best i32) (local $l $r $gh $lambda $t v128) (local $mcw $score $bestGain $gain f64)
 *   (local.set $best (i32.const -1))
 *   ... $gh, $lambda, $mcw, $score, $bestGain loaded from the area; $l = (0, 0)
 *   (block (br_if 0 (i32.ge_s $b $count))
 *     (loop
 *       (local.set $l (f64x2.add $l (v128.load $cell)))   ;; gl += g[b], hl += h[b]
 *       (local.set $r (f64x2.sub $gh $l))                  ;; gr = g - gl, hr = h - hl
 *       (block
 *         (br_if 0 (f64.lt (f64x2.extract_lane 1 $l) $mcw))
 *         (br_if 0 (f64.lt (f64x2.extract_lane 1 $r) $mcw))
 *         ;; (gl, gr)^2 / ((hl, hr) + lambda), both quotients in one division
 *         (local.set $t (f64x2.div
 *           (f64x2.mul (i8x16.shuffle 0..7 16..23 $l $r) (i8x16.shuffle 0..7 16..23 $l $r))
 *           (f64x2.add (i8x16.shuffle 8..15 24..31 $l $r) $lambda)))
 *         (local.set $gain (f64.mul (f64.const 0.5)
 *           (f64.sub (f64.add (f64x2.extract_lane 0 $t) (f64x2.extract_lane 1 $t)) $score)))
 *         (br_if 0 (i32.eqz (f64.gt $gain $bestGain)))  ;; as: if (gain > bestGain) { ... }
 *         (local.set $bestGain $gain) (local.set $best $b) (v128.store offset=left $area $l))
 *       (local.set $cell (i32.add $cell 16))
 *       (br_if 0 (i32.lt_s (local.tee $b (i32.add $b 1)) $count))))
 *   (f64.store offset=gain $area $bestGain)
 *   $best)
 * Every lane is the JavaScript expression's own operation in its own order (wasm never fuses a
 * multiply and an add), so the gains, and the split chosen, are the same bits.
 */
function splitKernel(): FunctionDef {
  const [cell, count, area] = [0, 1, 2];
  const [b, best, l, r, gh, lambda, t, mcw, score, bestGain, gain] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const low = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
  const high = low.map((k) => k + 8);
  const c = new Code();
  c.i32Const(-1).set(best);
  c.get(area).v128Load(SplitArea.gh).set(gh);
  c.get(area).v128Load(SplitArea.lambda).set(lambda);
  c.get(area).f64Load(SplitArea.minChildWeight).set(mcw);
  c.get(area).f64Load(SplitArea.parentScore).set(score);
  c.get(area).f64Load(SplitArea.gain).set(bestGain);
  c.f64Const(0).f64x2Splat().set(l);
  c.block().get(b).get(count).i32GeS().brIf(0).loop();
  c.get(l).get(cell).v128Load().f64x2Add().set(l);
  c.get(gh).get(l).f64x2Sub().set(r);
  c.block();
  c.get(l).f64x2ExtractLane(1).get(mcw).f64Lt().brIf(0);
  c.get(r).f64x2ExtractLane(1).get(mcw).f64Lt().brIf(0);
  c.get(l).get(r).i8x16Shuffle(low).get(l).get(r).i8x16Shuffle(low).f64x2Mul();
  c.get(l).get(r).i8x16Shuffle(high).get(lambda).f64x2Add();
  c.f64x2Div().set(t);
  c.f64Const(0.5)
    .get(t)
    .f64x2ExtractLane(0)
    .get(t)
    .f64x2ExtractLane(1)
    .f64Add()
    .get(score)
    .f64Sub()
    .f64Mul()
    .set(gain);
  c.get(gain).get(bestGain).f64Gt().i32Eqz().brIf(0);
  c.get(gain).set(bestGain).get(b).set(best).get(area).get(l).v128Store(SplitArea.left);
  c.end();
  c.get(cell).i32Const(16).i32Add().set(cell);
  c.get(b).i32Const(1).i32Add().tee(b).get(count).i32LtS().brIf(0).end().end();
  c.get(area).get(bestGain).f64Store(SplitArea.gain);
  c.get(best);
  return {
    name: 'splitNumeric',
    params: 3,
    result: true,
    locals: [I32, I32, V128, V128, V128, V128, V128, F64, F64, F64, F64],
    code: c,
  };
}

/** Compiled once per thread for each kind of memory (shared or not). */
const modules = new Map<boolean, object>();

function instantiate(memory: WasmMemory): HistogramKernels {
  const shared = memory.buffer instanceof SharedArrayBuffer;
  let module = modules.get(shared);
  if (module === undefined) {
    const bytes = encodeModule(
      [
        rowsKernel(),
        columnsKernel(4),
        columnsKernel(1),
        gatherKernel(),
        subtractKernel(),
        partitionKernel(false),
        partitionKernel(true),
        labelKernel(false),
        labelKernel(true),
        splitKernel(),
      ],
      shared,
    );
    module = new wasm.Module(bytes);
    modules.set(shared, module);
  }
  const instance = new wasm.Instance(module, { env: { memory } });
  return instance.exports as unknown as HistogramKernels;
}

/** Each thread's kernels for the memory it was last given (a fit's space keeps one memory). */
let bound: { memory: WasmMemory; kernels: HistogramKernels } | undefined;

/** The kernels over `memory` (the module is compiled on first use in this thread). */
export function histogramKernels(memory: WasmMemory): HistogramKernels {
  if (bound?.memory !== memory) bound = { memory, kernels: instantiate(memory) };
  return bound.kernels;
}

/**
 * contiguousPass as a kernel: the rows of index[begin, end), features f0 .. f0 + span - 1, into the
 * slot at `base` (bins u16, every array in s.memory).
 */
export function kernelRowPass(
  k: HistogramKernels,
  s: HistogramSpace,
  base: number,
  begin: number,
  end: number,
  f0: number,
  span: number,
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
