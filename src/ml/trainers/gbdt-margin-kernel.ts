import { Code, F64, type FunctionDef, I32, type ValueType } from './wasm-encoder.js';

/*
 * The margin step of a boosting round (marginPart in gbdt-rows.ts) as a WebAssembly kernel
 * (compiled in gbdt-kernels.ts), with the logistic gradients' exp computed in WebAssembly. The
 * model must not change by a bit, so the exp here is the method V8's Math.exp computes (fdlibm's
 * __ieee754_exp, as published by Sun and kept in FreeBSD's msun): argument reduction by ln2 split
 * in a high and a low part, a degree-5 polynomial, scaling by 2^k; V8 adds one case, exp(1)
 * returned as Math.E (the method is one bit off there). Every operation is one IEEE
 * double operation in the same order (WebAssembly has no fused multiply-add to blur it). A runtime
 * whose Math.exp differs (another libm, contracted multiply-adds) is caught by expMatches, and the
 * JavaScript loop then runs.
 */

// fdlibm's constants, by their published decimal values (each names one double exactly).
const O_THRESHOLD = 7.09782712893383973096e2;
const U_THRESHOLD = -7.45133219101941108420e2;
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.44269504088896338700;
const P1 = 1.66666666666666019037e-1;
const P2 = -2.77777777770155933842e-3;
const P3 = 6.61375632143793436117e-5;
const P4 = -1.65339022054652515390e-6;
const P5 = 4.13813679705723846039e-8;
const HUGE = 1e300;
const TWO_M1000 = 2 ** -1000;

/** The locals exp works in: x (overwritten), i32 scratch hx, xsb, k and f64 scratch hi .. y. */
interface ExpLocals {
  x: number;
  hx: number;
  xsb: number;
  k: number;
  hi: number;
  lo: number;
  t: number;
  c: number;
  y: number;
}

/** 2^(k + bias) as a double, from local k (the exponent field written, the mantissa zero). */
function twoTo(c: Code, k: number, bias: number): Code {
  c.get(k);
  if (bias !== 0) c.i32Const(bias).i32Add();
  return c.i32Const(20).i32Shl().i32Const(0x3ff00000).i32Add().i64ExtendI32U().i64Const(32).i64Shl().f64ReinterpretI64();
}

/*
 * exp(x), left on the stack:
 * (block $out (result f64)
 *   hx = high word of x; xsb = its sign bit; hx &= 0x7fffffff
 *   (if (hx >= 0x40862e42)                               ;; |x| >= 709.78
 *     (if (hx >= 0x7ff00000) (br $out (select (x + x) (select x 0 (xsb == 0)) (x != x))))
 *     (if (x > o_threshold) (br $out (huge * huge)))
 *     (if (x < u_threshold) (br $out (twom1000 * twom1000))))
 *   k = 0
 *   (if (hx > 0x3fd62e42)                                ;; |x| > 0.5 ln2
 *     (then
 *       (if (hx < 0x3ff0a2b2)                            ;; |x| < 1.5 ln2
 *         (then
 *           (if (x == 1) (br $out e))                       ;; V8's one addition: exp(1) is Math.E
 *           hi = x - (xsb ? -ln2HI : ln2HI); lo = xsb ? -ln2LO : ln2LO; k = 1 - 2 xsb)
 *         (else k = trunc_s(invln2 * x + (xsb ? -0.5 : 0.5)); t = k; hi = x - t * ln2HI; lo = t * ln2LO))
 *       x = hi - lo)
 *     (else (if (hx < 0x3e300000) (br $out (1 + x)))))   ;; |x| < 2^-28
 *   t = x * x
 *   c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))))
 *   (if (k == 0) (br $out (1 - ((x * c) / (c - 2) - x))))
 *   y = 1 - ((lo - (x * c) / (2 - c)) - hi)
 *   (if (k >= -1021)
 *     (if (k == 1024) (br $out (y * 2 * 2^1023)))
 *     (br $out (y * 2^k)))
 *   y * 2^(k + 1000) * twom1000)
 */
function emitExp(c: Code, l: ExpLocals): void {
  const { x, hx, xsb, k, hi, lo, t, y } = l;
  const cc = l.c;
  c.block(F64);
  c.get(x).i64ReinterpretF64().i64Const(32).i64ShrU().i32WrapI64().set(hx);
  c.get(hx).i32Const(31).i32ShrU().set(xsb);
  c.get(hx).i32Const(0x7fffffff).i32And().set(hx);
  c.get(hx).i32Const(0x40862e42).i32GeU().if();
  c.get(hx).i32Const(0x7ff00000).i32GeU().if();
  c.get(x).get(x).f64Add();
  c.get(x).f64Const(0).get(xsb).i32Eqz().select();
  c.get(x).get(x).f64Ne().select().br(2).end();
  c.get(x).f64Const(O_THRESHOLD).f64Gt().if().f64Const(HUGE).f64Const(HUGE).f64Mul().br(2).end();
  c.get(x).f64Const(U_THRESHOLD).f64Lt().if();
  c.f64Const(TWO_M1000).f64Const(TWO_M1000).f64Mul().br(2).end();
  c.end();
  c.i32Const(0).set(k);
  c.get(hx).i32Const(0x3fd62e42).i32GtU().if();
  c.get(hx).i32Const(0x3ff0a2b2).i32LtU().if();
  c.get(x).f64Const(1).f64Eq().if().f64Const(Math.E).br(3).end();
  c.get(x).f64Const(-LN2_HI).f64Const(LN2_HI).get(xsb).select().f64Sub().set(hi);
  c.f64Const(-LN2_LO).f64Const(LN2_LO).get(xsb).select().set(lo);
  c.i32Const(1).get(xsb).i32Const(1).i32Shl().i32Sub().set(k);
  c.else();
  c.f64Const(INV_LN2).get(x).f64Mul().f64Const(-0.5).f64Const(0.5).get(xsb).select().f64Add();
  c.i32TruncF64S().set(k);
  c.get(k).f64ConvertI32S().set(t);
  c.get(x).get(t).f64Const(LN2_HI).f64Mul().f64Sub().set(hi);
  c.get(t).f64Const(LN2_LO).f64Mul().set(lo);
  c.end();
  c.get(hi).get(lo).f64Sub().set(x);
  c.else();
  c.get(hx).i32Const(0x3e300000).i32LtU().if().f64Const(1).get(x).f64Add().br(2).end();
  c.end();
  c.get(x).get(x).f64Mul().set(t);
  c.get(x).get(t).f64Const(P1).get(t).f64Const(P2).get(t).f64Const(P3).get(t).f64Const(P4).get(t);
  c.f64Const(P5).f64Mul().f64Add().f64Mul().f64Add().f64Mul().f64Add().f64Mul().f64Add().f64Mul();
  c.f64Sub().set(cc);
  c.get(k).i32Eqz().if();
  c.f64Const(1).get(x).get(cc).f64Mul().get(cc).f64Const(2).f64Sub().f64Div().get(x).f64Sub().f64Sub();
  c.br(1).end();
  c.f64Const(1).get(lo).get(x).get(cc).f64Mul().f64Const(2).get(cc).f64Sub().f64Div().f64Sub();
  c.get(hi).f64Sub().f64Sub().set(y);
  c.get(k).i32Const(-1021).i32GeS().if();
  c.get(k).i32Const(1024).i32Eq().if();
  c.get(y).f64Const(2).f64Mul().f64Const(2 ** 1023).f64Mul().br(2).end();
  c.get(y);
  twoTo(c, k, 0).f64Mul().br(1).end();
  c.get(y);
  twoTo(c, k, 1000).f64Mul().f64Const(TWO_M1000).f64Mul();
  c.end();
}

/*
 * The same exp, its common case without a branch: for 2^-28 <= |x| < 708 (x not 1) every branch of
 * emitExp's method leads to the same operations once k is chosen, so k is selected and one path
 * computes the rest. With k = +-1 (|x| < 1.5 ln2), t * ln2HI and t * ln2LO are exact, so
 * hi = x - t * ln2HI and lo = t * ln2LO are the method's x - ln2HI[xsb] and ln2LO[xsb]. With k = 0
 * (|x| <= 0.5 ln2), hi = x and lo = 0, so y = 1 - ((0 - q) - x) with q = (x c) / (2 - c) equals the
 * method's 1 - ((x c) / (c - 2) - x) (c - 2 = -(2 - c) exactly, and q is not zero here), and
 * y * 2^0 = y. Below 708, k >= -1021: 2^k is a normal double. Margins land here; the branches
 * of the method mispredict on them (which side of 0.5 ln2 and 1.5 ln2 a margin falls is a coin toss).
 * (block $out (result f64)
 *   hx, xsb as in emitExp
 *   (if (i32.ge_u (hx - 0x3e300000) (0x40862000 - 0x3e300000)) | (x == 1) (br $out (emitExp x)))
 *   k = (hx > 0x3fd62e42) ? ((hx < 0x3ff0a2b2) ? 1 - 2 xsb : trunc_s(invln2 * x + (xsb ? -0.5 : 0.5))) : 0
 *   t = k; hi = x - t * ln2HI; lo = t * ln2LO; x = hi - lo
 *   t = x * x; c as in emitExp
 *   (1 - ((lo - (x * c) / (2 - c)) - hi)) * 2^k)
 */
function emitFastExp(c: Code, l: ExpLocals): void {
  const { x, hx, xsb, k, hi, lo, t } = l;
  const cc = l.c;
  c.block(F64);
  c.get(x).i64ReinterpretF64().i64Const(32).i64ShrU().i32WrapI64().set(hx);
  c.get(hx).i32Const(31).i32ShrU().set(xsb);
  c.get(hx).i32Const(0x7fffffff).i32And().set(hx);
  c.get(hx).i32Const(0x3e300000).i32Sub().i32Const(0x40862000 - 0x3e300000).i32GeU();
  c.get(x).f64Const(1).f64Eq().i32Or().if();
  emitExp(c, l);
  c.br(1).end();
  c.i32Const(1).get(xsb).i32Const(1).i32Shl().i32Sub();
  c.f64Const(INV_LN2).get(x).f64Mul().f64Const(-0.5).f64Const(0.5).get(xsb).select().f64Add().i32TruncF64S();
  c.get(hx).i32Const(0x3ff0a2b2).i32LtU().select();
  c.i32Const(0).get(hx).i32Const(0x3fd62e42).i32GtU().select().set(k);
  c.get(k).f64ConvertI32S().set(t);
  c.get(x).get(t).f64Const(LN2_HI).f64Mul().f64Sub().set(hi);
  c.get(t).f64Const(LN2_LO).f64Mul().set(lo);
  c.get(hi).get(lo).f64Sub().set(x);
  c.get(x).get(x).f64Mul().set(t);
  c.get(x).get(t).f64Const(P1).get(t).f64Const(P2).get(t).f64Const(P3).get(t).f64Const(P4).get(t);
  c.f64Const(P5).f64Mul().f64Add().f64Mul().f64Add().f64Mul().f64Add().f64Mul().f64Add().f64Mul();
  c.f64Sub().set(cc);
  c.f64Const(1).get(lo).get(x).get(cc).f64Mul().f64Const(2).get(cc).f64Sub().f64Div().f64Sub();
  c.get(hi).f64Sub().f64Sub();
  twoTo(c, k, 0).f64Mul();
  c.end();
}

/** The exp locals after `first` locals: three i32, then six f64. */
function expLocals(first: number): ExpLocals {
  const [hx, xsb, k, x, hi, lo, t, c, y] = Array.from({ length: 9 }, (_, j) => first + j);
  return { x: x!, hx: hx!, xsb: xsb!, k: k!, hi: hi!, lo: lo!, t: t!, c: c!, y: y! };
}
const EXP_LOCAL_TYPES: ValueType[] = [I32, I32, I32, F64, F64, F64, F64, F64, F64];

/*
 * (func $expRange (param $src $end $dst i32)
 *   (block (br_if 0 (i32.ge_u $src $end))
 *     (loop
 *       (f64.store $dst (exp (f64.load $src)))
 *       (local.set $dst (i32.add $dst 8))
 *       (br_if 0 (i32.lt_u (local.tee $src (i32.add $src 8)) $end)))))
 */
export function expKernel(): FunctionDef {
  const [src, end, dst] = [0, 1, 2];
  const l = expLocals(3);
  const c = new Code();
  c.block().get(src).get(end).i32GeU().brIf(0).loop();
  c.get(dst).get(src).f64Load().set(l.x);
  emitFastExp(c, l);
  c.f64Store();
  c.get(dst).i32Const(8).i32Add().set(dst);
  c.get(src).i32Const(8).i32Add().tee(src).get(end).i32LtU().brIf(0).end().end();
  return { name: 'expRange', params: 3, locals: EXP_LOCAL_TYPES, code: c };
}

/** What the margin kernels do after a row's margin moves: as NextGradients in gbdt-rows.ts. */
export type MarginGradients = 'none' | 'logloss' | 'squared';

/*
 * (func $margin<Gradients> (param $i $end $leafOf $margin $value $tracked $y $gh i32) (result i32)
 *   (loop $next
 *     (if (i32.ge_u $i $end) (return $end))
 *     (local.set $node (i32.load (local.tee $a (i32.add $leafOf (i32.shl $i 2)))))
 *     (if (i32.lt_s $node 0)                          ;; a row the tree was not grown on
 *       (if (i32.load8_u (i32.add $tracked $i)) (return $i))   ;; walked in JavaScript
 *       (local.set $i (i32.add $i 1)) (br $next))
 *     (i32.store $a (i32.const -1))
 *     (local.set $m (f64.add (f64.load $b = margin + 8 i) (f64.load (i32.add $value (i32.shl $node 3)))))
 *     (f64.store $b $m)
 *     ;; logloss, squared: a training row's next gradient and hessian, as rowGradient (gbdt-rows.ts)
 *     (if (i32.eq (i32.load8_u (i32.add $tracked $i)) 2)
 *       logloss: p = 1 / (1 + exp(-m)); gh[2i] = p - y[i]; gh[2i + 1] = f64.max(p * (1 - p), 1e-16)
 *       squared: gh[2i] = m - y[i]; gh[2i + 1] = 1)
 *     (local.set $i (i32.add $i 1)) (br $next))
 *   unreachable)
 * Returns the first row of [i, end) that needs a walk down the tree, or end.
 */
export function marginKernel(gradients: MarginGradients): FunctionDef {
  const [i, end, leafOf, margin, value, tracked, y, gh] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [node, a, b, m] = [8, 9, 10, 11];
  const l = expLocals(12);
  const c = new Code();
  c.loop();
  c.get(i).get(end).i32GeU().if().get(end).return().end();
  c.get(leafOf).get(i).i32Const(2).i32Shl().i32Add().tee(a).i32Load().set(node);
  c.get(node).i32Const(0).i32LtS().if();
  c.get(tracked).get(i).i32Add().i32Load8U().if().get(i).return().end();
  c.get(i).i32Const(1).i32Add().set(i).br(1).end();
  c.get(a).i32Const(-1).i32Store();
  c.get(margin).get(i).i32Const(3).i32Shl().i32Add().tee(b).f64Load();
  c.get(value).get(node).i32Const(3).i32Shl().i32Add().f64Load().f64Add().set(m);
  c.get(b).get(m).f64Store();
  if (gradients !== 'none') {
    c.get(tracked).get(i).i32Add().i32Load8U().i32Const(2).i32Eq().if();
    c.get(gh).get(i).i32Const(4).i32Shl().i32Add().set(b);
    const yi = () => c.get(y).get(i).i32Const(3).i32Shl().i32Add().f64Load();
    if (gradients === 'logloss') {
      // p = 1 / (1 + exp(-m)), in local y of exp (free once exp is done).
      c.get(m).f64Neg().set(l.x);
      c.f64Const(1).f64Const(1);
      emitFastExp(c, l);
      c.f64Add().f64Div().set(l.y);
      c.get(b).get(l.y);
      yi().f64Sub().f64Store();
      c.get(b).get(l.y).f64Const(1).get(l.y).f64Sub().f64Mul().f64Const(1e-16).f64Max().f64Store(8);
    } else {
      c.get(b).get(m);
      yi().f64Sub().f64Store();
      c.get(b).f64Const(1).f64Store(8);
    }
    c.end();
  }
  c.get(i).i32Const(1).i32Add().set(i).br(0).end();
  c.unreachable();
  const name = `margin${gradients[0]!.toUpperCase()}${gradients.slice(1)}`;
  return { name, params: 8, result: true, locals: [I32, I32, I32, F64, ...EXP_LOCAL_TYPES], code: c };
}

/** The kernels' exported names by what follows the margins. */
export const MARGIN_KERNELS = {
  none: 'marginNone',
  logloss: 'marginLogloss',
  squared: 'marginSquared',
} as const;

/** Doubles the exp self-check runs on: inputs and results fit one 64 KiB page. */
export const EXP_CHECK_COUNT = 4000;

/**
 * The self-check's inputs: every branch of exp and its edges (the thresholds, +-0.5 ln2, +-1.5 ln2,
 * 2^-28, where 2^k leaves the normal range, +-0, +-Infinity, NaN, with the doubles either side),
 * then a fixed pseudo-random spread over the finite range and over the margins fits produce.
 */
export function expCheckInputs(count = EXP_CHECK_COUNT): Float64Array {
  const edges = [
    0, 0.5 * Math.LN2, 1.5 * Math.LN2, 2 ** -28, 2 ** -1022, 5e-324, 1, 2, 20, 36.7, 700,
    -1021 * Math.LN2, -1022 * Math.LN2, -1000 * Math.LN2, 1023.5 * Math.LN2, O_THRESHOLD, U_THRESHOLD,
    709.78, 745, 746, 1e300, Number.MAX_VALUE, Number.POSITIVE_INFINITY,
  ];
  const out = new Float64Array(count);
  let at = 0;
  const push = (x: number) => {
    if (at < count) out[at++] = x;
  };
  push(Number.NaN);
  // Each edge, and the three doubles either side of it, of either sign.
  const one = new Float64Array(1);
  const bits = new BigInt64Array(one.buffer);
  for (const e of edges)
    for (let d = -3; d <= 3; d++) {
      one[0] = e;
      if (Number.isFinite(e) && bits[0]! + BigInt(d) >= 0n) bits[0] = bits[0]! + BigInt(d);
      push(one[0]);
      push(-one[0]);
    }
  // xorshift: the same inputs on every thread and every run.
  let s = 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  while (at < count) {
    const r = next();
    push(at % 2 ? -745.2 + 1456 * r : (next() < 0.5 ? -1 : 1) * 40 * r * r);
  }
  return out;
}

/** Whether exp over `inputs` (run writes the results to `results`) matches Math.exp bit for bit. */
export function expMatches(inputs: Float64Array, results: Float64Array): boolean {
  const got = new BigInt64Array(results.buffer, results.byteOffset, results.length);
  const want = new BigInt64Array(1);
  const wantValue = new Float64Array(want.buffer);
  for (let j = 0; j < inputs.length; j++) {
    wantValue[0] = Math.exp(inputs[j]!);
    if (Number.isNaN(wantValue[0]) ? !Number.isNaN(results[j]) : got[j] !== want[0]) return false;
  }
  return true;
}
