import { EXP_LOCAL_TYPES, emitExpX2, emitFastExp, expLocals } from './gbdt-exp-kernel.js';
import { Code, F64, type FunctionDef, I32, V128, type ValueType } from './wasm-encoder.js';

/*
 * The margin step of a boosting round (marginPart in gbdt-rows.ts) as WebAssembly kernels
 * (compiled in gbdt-kernels.ts), doing what the JavaScript loop does, row for row and bit for bit:
 * the logistic gradients' exp is V8's Math.exp method (gbdt-exp-kernel.ts). Arguments are byte
 * addresses in the histogram space's memory, which holds the row space's arrays too.
 */

/** What the margin kernels do after a row's margin moves: as NextGradients in gbdt-rows.ts. */
export type MarginGradients = 'none' | 'logloss' | 'squared';

/** The kernels' exported names by what follows the margins. */
export const MARGIN_KERNELS = {
  none: 'marginNone',
  logloss: 'marginLogloss',
  squared: 'marginSquared',
} as const;

const [I, END, LEAF_OF, MARGIN, VALUE, TRACKED, Y, GH] = [0, 1, 2, 3, 4, 5, 6, 7];
// i32 locals, then f64, then exp's scalar locals, then the two-lane exp's v128 locals.
const [NODE, A, B, PEND, M, PM] = [8, 9, 10, 11, 12, 13];
const SCALAR = expLocals(14);
const [X2, AX2, NEG2, T2, HI2, LO2, C2, P2, Y2] = [23, 24, 25, 26, 27, 28, 29, 30, 31];
const LOCALS: ValueType[] = [
  I32,
  I32,
  I32,
  I32,
  F64,
  F64,
  ...EXP_LOCAL_TYPES,
  ...Array<ValueType>(9).fill(V128),
];

/** The double at `base` + 8 * row (row a local). */
function loadAt(c: Code, base: number, row: number): Code {
  return c.get(base).get(row).i32Const(3).i32Shl().i32Add().f64Load();
}

/*
 * Row `row`'s log-loss gradient and hessian from its margin (local m), as rowGradient does:
 * p = 1 / (1 + exp(-m)); gh[2 row] = p - y[row]; gh[2 row + 1] = max(p * (1 - p), 1e-16).
 */
function logloss(c: Code, row: number, m: number): void {
  const p = SCALAR.y;
  c.get(GH).get(row).i32Const(4).i32Shl().i32Add().set(B);
  c.get(m).f64Neg().set(SCALAR.x);
  c.f64Const(1).f64Const(1);
  emitFastExp(c, SCALAR);
  c.f64Add().f64Div().set(p);
  c.get(B).get(p);
  loadAt(c, Y, row).f64Sub().f64Store();
  c.get(B).get(p).f64Const(1).get(p).f64Sub().f64Mul().f64Const(1e-16).f64Max().f64Store(8);
}

/** The same for two rows at once (rows r0, r1, margins m0, m1), one in each lane. */
function loglossPair(c: Code, r0: number, m0: number, r1: number, m1: number): void {
  c.get(m0).f64Neg().f64x2Splat().get(m1).f64Neg().f64x2ReplaceLane(1).set(X2);
  c.v128ConstF64(1).v128ConstF64(1);
  emitExpX2(c, { x: X2, ax: AX2, neg: NEG2, t: T2, hi: HI2, lo: LO2, c: C2, scalar: SCALAR });
  c.f64x2Add().f64x2Div().set(P2);
  c.get(P2);
  loadAt(c, Y, r0).f64x2Splat();
  loadAt(c, Y, r1).f64x2ReplaceLane(1).f64x2Sub().set(Y2);
  c.get(P2).v128ConstF64(1).get(P2).f64x2Sub().f64x2Mul().v128ConstF64(1e-16).f64x2Max().set(P2);
  // Lane 0 (gradient, hessian) to row r0's pair, lane 1 to row r1's.
  const low = Array.from({ length: 8 }, (_, j) => j);
  c.get(GH).get(r0).i32Const(4).i32Shl().i32Add().get(Y2).get(P2);
  c.i8x16Shuffle([...low, ...low.map((j) => 16 + j)]).v128Store();
  c.get(GH).get(r1).i32Const(4).i32Shl().i32Add().get(Y2).get(P2);
  c.i8x16Shuffle([...low.map((j) => 8 + j), ...low.map((j) => 24 + j)]).v128Store();
}

/** Log-loss: the gradient of the row held back for a pair, if one is (before the kernel returns). */
function flush(c: Code, gradients: MarginGradients): void {
  if (gradients !== 'logloss') return;
  c.get(PEND).i32Const(0).i32GeS().if();
  logloss(c, PEND, PM);
  c.end();
}

/*
 * (func $margin<Gradients> (param $i $end $leafOf $margin $value $tracked $y $gh i32) (result i32)
 *   (local.set $pend (i32.const -1))
 *   (loop $next
 *     (if (i32.ge_u $i $end) (flush) (return $end))
 *     (local.set $node (i32.load (local.tee $a (i32.add $leafOf (i32.shl $i 2)))))
 *     (if (i32.lt_s $node 0)                          ;; a row the tree was not grown on
 *       (if (i32.load8_u (i32.add $tracked $i)) (flush) (return $i))   ;; walked in JavaScript
 *       (local.set $i (i32.add $i 1)) (br $next))
 *     (i32.store $a (i32.const -1))
 *     (local.set $m (f64.add (f64.load $b = margin + 8 i) (f64.load (i32.add $value (i32.shl $node 3)))))
 *     (f64.store $b $m)
 *     ;; logloss, squared: a training row's next gradient and hessian, as rowGradient (gbdt-rows.ts)
 *     (if (i32.eq (i32.load8_u (i32.add $tracked $i)) 2)
 *       logloss: (if (i32.lt_s $pend 0) (then $pend = $i; $pm = $m)   ;; held back for a pair
 *                  (else (loglossPair $pend $pm $i $m) $pend = -1))
 *       squared: gh[2i] = m - y[i]; gh[2i + 1] = 1)
 *     (local.set $i (i32.add $i 1)) (br $next))
 *   unreachable)
 * (flush): the held-back row's gradient alone (logloss). Rows' results depend on the row alone, so
 * which rows share a pair changes no bit. Returns the first row of [i, end) that needs a walk
 * down the tree, or end.
 */
export function marginKernel(gradients: MarginGradients): FunctionDef {
  const c = new Code();
  c.i32Const(-1).set(PEND);
  c.loop();
  c.get(I).get(END).i32GeU().if();
  flush(c, gradients);
  c.get(END).return().end();
  c.get(LEAF_OF).get(I).i32Const(2).i32Shl().i32Add().tee(A).i32Load().set(NODE);
  c.get(NODE).i32Const(0).i32LtS().if();
  c.get(TRACKED).get(I).i32Add().i32Load8U().if();
  flush(c, gradients);
  c.get(I).return().end();
  c.get(I).i32Const(1).i32Add().set(I).br(1).end();
  c.get(A).i32Const(-1).i32Store();
  c.get(MARGIN).get(I).i32Const(3).i32Shl().i32Add().tee(B).f64Load();
  c.get(VALUE).get(NODE).i32Const(3).i32Shl().i32Add().f64Load().f64Add().set(M);
  c.get(B).get(M).f64Store();
  if (gradients !== 'none') {
    c.get(TRACKED).get(I).i32Add().i32Load8U().i32Const(2).i32Eq().if();
    if (gradients === 'logloss') {
      c.get(PEND).i32Const(0).i32LtS().if();
      c.get(I).set(PEND).get(M).set(PM);
      c.else();
      loglossPair(c, PEND, PM, I, M);
      c.i32Const(-1).set(PEND).end();
    } else {
      c.get(GH).get(I).i32Const(4).i32Shl().i32Add().tee(B).get(M);
      loadAt(c, Y, I).f64Sub().f64Store();
      c.get(B).f64Const(1).f64Store(8);
    }
    c.end();
  }
  c.get(I).i32Const(1).i32Add().set(I).br(0).end();
  c.unreachable();
  const name = MARGIN_KERNELS[gradients];
  return { name, params: 8, result: true, locals: LOCALS, code: c };
}
