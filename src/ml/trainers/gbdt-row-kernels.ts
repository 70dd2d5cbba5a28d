import { Code, type FunctionDef, I32 } from './wasm-encoder.js';

/*
 * The partition and leaf labels of a split node's rows as WebAssembly kernels (compiled in
 * gbdt-kernels.ts), doing what the JavaScript loops of gbdt-level.ts do, row for row. Arguments
 * are byte addresses in the histogram space's memory.
 */

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
export function partitionKernel(categorical: boolean): FunctionDef {
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
export function labelKernel(categorical: boolean): FunctionDef {
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
