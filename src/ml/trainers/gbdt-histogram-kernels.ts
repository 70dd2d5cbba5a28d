import { Code, type FunctionDef, I32, V128 } from './wasm-encoder.js';

/*
 * The histogram loops as WebAssembly kernels (compiled in gbdt-kernels.ts): a bin's (gradient,
 * hessian) pair is one 16-byte slot cell, added with one f64x2.add, and no access is bounds-checked
 * (V8 guards wasm memory with unmapped pages instead). Each lane is the same IEEE double addition
 * as the JavaScript loops of gbdt-histogram.ts, in the same row order, so the sums are the same
 * bits. Arguments are byte addresses in the space's memory.
 */

// Parameter and local numbers of each kernel, named as in its WAT.

/*
 * (func $rows (param $p $pend $gh $bins $rowBytes $quad $span $hist $sum i32)
 *   (local $i i32) (local $v v128) (local $r i32) (local $r4 i32) (local $rend i32) (local $a i32)
 *   (local $total v128)
 *   (block (br_if 0 (i32.ge_u $p $pend))
 *     (loop
 *       (local.set $i (i32.load $p))
 *       (local.set $v (v128.load (i32.add (i32.shl $i 4) $gh)))
 *       (local.set $total (f64x2.add $total $v))    ;; the rows' (g, h) sums, in index order
 *       (local.set $r4 (i32.add (local.tee $r (i32.add (i32.mul $i $rowBytes) $bins)) $quad))
 *       (local.set $rend (i32.add $r $span))
 *       (block (br_if 0 (i32.ge_u $r $r4))
 *         (loop (cell 0) (cell 2) (cell 4) (cell 6)
 *           (br_if 0 (i32.lt_u (local.tee $r (i32.add $r 8)) $r4))))
 *       (block (br_if 0 (i32.ge_u $r $rend))
 *         (loop (cell 0)
 *           (br_if 0 (i32.lt_u (local.tee $r (i32.add $r 2)) $rend))))
 *       (br_if 0 (i32.lt_u (local.tee $p (i32.add $p 4)) $pend))))
 *   (v128.store $sum $total))
 * (cell k) = (v128.store (local.tee $a (i32.add (i32.shl (i32.load16_u offset=k $r) 4) $hist))
 *              (f64x2.add (v128.load $a) $v))
 */
export function rowsKernel(): FunctionDef {
  const [p, pend, gh, bins, rowBytes, quad, span, hist, sum] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i, v, r, r4, rend, a, total] = [9, 10, 11, 12, 13, 14, 15];
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
  c.get(total).get(v).f64x2Add().set(total);
  c.get(i).get(rowBytes).i32Mul().get(bins).i32Add().tee(r).get(quad).i32Add().set(r4);
  c.get(r).get(span).i32Add().set(rend);
  c.block().get(r).get(r4).i32GeU().brIf(0).loop();
  for (const offset of [0, 2, 4, 6]) cell(offset);
  c.get(r).i32Const(8).i32Add().tee(r).get(r4).i32LtU().brIf(0).end().end();
  c.block().get(r).get(rend).i32GeU().brIf(0).loop();
  cell(0);
  c.get(r).i32Const(2).i32Add().tee(r).get(rend).i32LtU().brIf(0).end().end();
  c.get(p).i32Const(4).i32Add().tee(p).get(pend).i32LtU().brIf(0).end().end();
  c.get(sum).get(total).v128Store();
  return { name: 'rows', params: 9, locals: [I32, V128, I32, I32, I32, I32, V128], code: c };
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
export function columnsKernel(k: number): FunctionDef {
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
export function gatherKernel(): FunctionDef {
  const [p, pend, gh, out] = [0, 1, 2, 3];
  const c = new Code();
  c.block().get(p).get(pend).i32GeU().brIf(0).loop();
  c.get(out).get(p).i32Load().i32Const(4).i32Shl().get(gh).i32Add().v128Load().v128Store();
  c.get(out).i32Const(16).i32Add().set(out);
  c.get(p).i32Const(4).i32Add().tee(p).get(pend).i32LtU().brIf(0).end().end();
  return { name: 'gather', params: 4, locals: [], code: c };
}

/*
 * (func $subtract (param $a $aend $b i32)      ;; $add: the same with f64x2.add
 *   (block (br_if 0 (i32.ge_u $a $aend))
 *     (loop
 *       (v128.store $a (f64x2.sub (v128.load $a) (v128.load $b)))
 *       (local.set $b (i32.add $b 16))
 *       (br_if 0 (i32.lt_u (local.tee $a (i32.add $a 16)) $aend)))))
 */
export function cellwiseKernel(name: 'subtract' | 'add'): FunctionDef {
  const [a, aend, b] = [0, 1, 2];
  const c = new Code();
  c.block().get(a).get(aend).i32GeU().brIf(0).loop();
  c.get(a).get(a).v128Load().get(b).v128Load();
  if (name === 'add') c.f64x2Add();
  else c.f64x2Sub();
  c.v128Store();
  c.get(b).i32Const(16).i32Add().set(b);
  c.get(a).i32Const(16).i32Add().tee(a).get(aend).i32LtU().brIf(0).end().end();
  return { name, params: 3, locals: [], code: c };
}
