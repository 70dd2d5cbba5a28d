import { Code, F64, type FunctionDef, I32, V128 } from './wasm-encoder.js';

/*
 * The split search of a numeric feature as a WebAssembly kernel (compiled in gbdt-kernels.ts),
 * scanning the bins as searchSplit (gbdt-split.ts) does, with the same arithmetic in the same order.
 */

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
export function splitKernel(): FunctionDef {
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
