import { Code, F64, type FunctionDef, I32, V128, type ValueType } from './wasm-encoder.js';

/*
 * exp in WebAssembly, for the logistic gradients of the margin kernel (gbdt-margin-kernel.ts). The
 * model must not change by a bit, so the exp here is the method V8's Math.exp computes (fdlibm's
 * __ieee754_exp, as published by Sun and kept in FreeBSD's msun): argument reduction by ln2 split
 * in a high and a low part, a degree-5 polynomial, scaling by 2^k; V8 adds one case, exp(1)
 * returned as Math.E (the method is one bit off there). Every operation is one IEEE
 * double operation in the same order (WebAssembly has no fused multiply-add to blur it). The
 * kernel runs on x64 only, where the test proves the match, and only after expMatches finds the
 * same bits on 4,000 inputs in the thread (gbdt-kernels.ts marginKernels); elsewhere, or when the
 * check fails, the JavaScript loop runs.
 */

/** The double whose high and low 32-bit words these are. */
function fromWords(high: number, low = 0): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, high);
  view.setUint32(4, low);
  return view.getFloat64(0);
}

// fdlibm's constants, by the words it publishes for them (its decimals name the same doubles).
const O_THRESHOLD = fromWords(0x40862e42, 0xfefa39ef); // 7.09782712893383973096e+02
const U_THRESHOLD = fromWords(0xc0874910, 0xd52d3051); // -7.45133219101941108420e+02
const LN2_HI = fromWords(0x3fe62e42, 0xfee00000); // 6.93147180369123816490e-01
const LN2_LO = fromWords(0x3dea39ef, 0x35793c76); // 1.90821492927058770002e-10
const INV_LN2 = fromWords(0x3ff71547, 0x652b82fe); // 1.44269504088896338700e+00
const P1 = fromWords(0x3fc55555, 0x5555553e); // 1.66666666666666019037e-01
const P2 = fromWords(0xbf66c16c, 0x16bebd93); // -2.77777777770155933842e-03
const P3 = fromWords(0x3f11566a, 0xaf25de2c); // 6.61375632143793436117e-05
const P4 = fromWords(0xbebbbd41, 0xc5d26bf1); // -1.65339022054652515390e-06
const P5 = fromWords(0x3e663769, 0x72bea4d0); // 4.13813679705723846039e-08
const HUGE = 1e300;
const TWO_M1000 = 2 ** -1000;

/** The locals exp works in: x (overwritten), i32 scratch hx, xsb, k and f64 scratch hi .. y. */
export interface ExpLocals {
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
  return c
    .i32Const(20)
    .i32Shl()
    .i32Const(0x3ff00000)
    .i32Add()
    .i64ExtendI32U()
    .i64Const(32)
    .i64Shl()
    .f64ReinterpretI64();
}

/** hx = the high word of x with its sign bit cleared, xsb = that sign bit (fdlibm's GET_HIGH_WORD). */
function highWord(c: Code, l: ExpLocals): void {
  const { x, hx, xsb } = l;
  c.get(x).i64ReinterpretF64().i64Const(32).i64ShrU().i32WrapI64().set(hx);
  c.get(hx).i32Const(31).i32ShrU().set(xsb);
  c.get(hx).i32Const(0x7fffffff).i32And().set(hx);
}

/** t = x * x; c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5)))), for the reduced x. */
function polynomial(c: Code, l: ExpLocals): void {
  const { x, t } = l;
  c.get(x).get(x).f64Mul().set(t);
  c.get(x).get(t).f64Const(P1).get(t).f64Const(P2).get(t).f64Const(P3).get(t).f64Const(P4).get(t);
  c.f64Const(P5).f64Mul().f64Add().f64Mul().f64Add().f64Mul().f64Add().f64Mul().f64Add().f64Mul();
  c.f64Sub().set(l.c);
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
export function emitExp(c: Code, l: ExpLocals): void {
  const { x, hx, xsb, k, hi, lo, t, y } = l;
  const cc = l.c;
  c.block(F64);
  highWord(c, l);
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
  polynomial(c, l);
  c.get(k).i32Eqz().if();
  c.f64Const(1).get(x).get(cc).f64Mul().get(cc).f64Const(2).f64Sub().f64Div().get(x).f64Sub().f64Sub();
  c.br(1).end();
  c.f64Const(1).get(lo).get(x).get(cc).f64Mul().f64Const(2).get(cc).f64Sub().f64Div().f64Sub();
  c.get(hi).f64Sub().f64Sub().set(y);
  c.get(k).i32Const(-1021).i32GeS().if();
  c.get(k).i32Const(1024).i32Eq().if();
  c.get(y).f64Const(2).f64Mul();
  c.f64Const(2 ** 1023)
    .f64Mul()
    .br(2)
    .end();
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
export function emitFastExp(c: Code, l: ExpLocals): void {
  const { x, hx, xsb, k, hi, lo, t } = l;
  const cc = l.c;
  c.block(F64);
  highWord(c, l);
  c.get(hx)
    .i32Const(0x3e300000)
    .i32Sub()
    .i32Const(0x40862000 - 0x3e300000)
    .i32GeU();
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
  polynomial(c, l);
  c.f64Const(1).get(lo).get(x).get(cc).f64Mul().f64Const(2).get(cc).f64Sub().f64Div().f64Sub();
  c.get(hi).f64Sub().f64Sub();
  twoTo(c, k, 0).f64Mul();
  c.end();
}

/** The v128 locals the two-lane exp works in (x overwritten), and the scalar ones of its rare lanes. */
export interface ExpX2Locals {
  x: number;
  ax: number;
  neg: number;
  t: number;
  hi: number;
  lo: number;
  c: number;
  scalar: ExpLocals;
}

/*
 * exp of both lanes of f64x2 local x, left on the stack: emitFastExp's common case lane by lane,
 * its high-word tests as comparisons of |x| with the doubles whose high words they name
 * (hx > 0x3fd62e42 is |x| >= 0x3fd62e43_00000000, and so on), the sign bit as x < 0 (x is not
 * +-0 there), t = k as a double (f64x2.trunc is C's (int) cast for these k). A lane off the common
 * case (or NaN) sends both lanes through emitExp, one at a time.
 * (block $out (result v128)
 *   (if (any_true (not (|x| >= 2^-28 & |x| < 708)) | (x == 1)) (br $out (exp x0, exp x1)))
 *   neg = x < 0
 *   t = |x| >= 0.5ln2' ? (|x| < 1.5ln2' ? (neg ? -1 : 1) : trunc(invln2 * x + (neg ? -0.5 : 0.5))) : 0
 *   then emitFastExp's arithmetic, lane by lane, and 2^k as the bits (k << 52) + bits(1.0))
 */
export function emitExpX2(c: Code, v: ExpX2Locals): void {
  const { x, ax, neg, t, hi, lo, scalar } = v;
  const cc = v.c;
  const k2 = (n: number) => c.v128ConstF64(n);
  c.block(V128);
  c.get(x).f64x2Abs().tee(ax);
  k2(2 ** -28)
    .f64x2Ge()
    .get(ax);
  k2(708).f64x2Lt().v128And().v128Not().get(x);
  k2(1).f64x2Eq().v128Or().v128AnyTrue().if();
  c.get(x).f64x2ExtractLane(0).set(scalar.x);
  emitExp(c, scalar);
  c.f64x2Splat().get(x).f64x2ExtractLane(1).set(scalar.x);
  emitExp(c, scalar);
  c.f64x2ReplaceLane(1).br(1).end();
  c.get(x);
  k2(0).f64x2Lt().set(neg);
  k2(-1);
  k2(1).get(neg).v128Bitselect();
  k2(INV_LN2).get(x).f64x2Mul();
  k2(-0.5);
  k2(0.5).get(neg).v128Bitselect().f64x2Add().f64x2Trunc().get(ax);
  k2(fromWords(0x3ff0a2b2)).f64x2Lt().v128Bitselect();
  k2(0).get(ax);
  k2(fromWords(0x3fd62e43)).f64x2Ge().v128Bitselect().set(t);
  c.get(x).get(t);
  k2(LN2_HI).f64x2Mul().f64x2Sub().set(hi);
  c.get(t);
  k2(LN2_LO).f64x2Mul().set(lo);
  c.get(hi).get(lo).f64x2Sub().set(x);
  // ax: x * x from here.
  c.get(x).get(x).f64x2Mul().set(ax);
  c.get(x).get(ax);
  for (const p of [P1, P2, P3, P4]) k2(p).get(ax);
  k2(P5);
  for (let j = 0; j < 4; j++) c.f64x2Mul().f64x2Add();
  c.f64x2Mul().f64x2Sub().set(cc);
  k2(1).get(lo).get(x).get(cc).f64x2Mul();
  k2(2).get(cc).f64x2Sub().f64x2Div().f64x2Sub().get(hi).f64x2Sub().f64x2Sub();
  // 2^k: k << 52 plus the bits of 1.0 (k is at least -1021 here, so the exponent stays normal).
  c.get(t).i32x4TruncSatF64x2SZero().i64x2ExtendLowI32x4S().i32Const(52).i64x2Shl();
  k2(1).i64x2Add().f64x2Mul();
  c.end();
}

/** The exp locals after `first` locals: three i32, then six f64. */
export function expLocals(first: number): ExpLocals {
  const [hx, xsb, k, x, hi, lo, t, c, y] = Array.from({ length: 9 }, (_, j) => first + j);
  return { x: x!, hx: hx!, xsb: xsb!, k: k!, hi: hi!, lo: lo!, t: t!, c: c!, y: y! };
}
export const EXP_LOCAL_TYPES: ValueType[] = [I32, I32, I32, F64, F64, F64, F64, F64, F64];

/*
 * (func $expRange (param $src $end $dst i32)
 *   (block (br_if 0 (i32.ge_u $src $end))
 *     (loop
 *       (f64.store $dst (exp (f64.load $src)))
 *       (local.set $dst (i32.add $dst 8))
 *       (br_if 0 (i32.lt_u (local.tee $src (i32.add $src 8)) $end)))))
 * $expPairs: two doubles at a time (v128.load, the two-lane exp, v128.store), an even count of them.
 */
export function expKernel(pairs: boolean): FunctionDef {
  const [src, end, dst] = [0, 1, 2];
  const l = expLocals(3);
  const [x, ax, neg, t, hi, lo, cc] = [12, 13, 14, 15, 16, 17, 18];
  const c = new Code();
  c.block().get(src).get(end).i32GeU().brIf(0).loop();
  if (pairs) {
    c.get(dst).get(src).v128Load().set(x);
    emitExpX2(c, { x, ax, neg, t, hi, lo, c: cc, scalar: l });
    c.v128Store();
  } else {
    c.get(dst).get(src).f64Load().set(l.x);
    emitFastExp(c, l);
    c.f64Store();
  }
  const step = pairs ? 16 : 8;
  c.get(dst).i32Const(step).i32Add().set(dst);
  c.get(src).i32Const(step).i32Add().tee(src).get(end).i32LtU().brIf(0).end().end();
  const locals: ValueType[] = [...EXP_LOCAL_TYPES, ...(pairs ? Array<ValueType>(7).fill(V128) : [])];
  return { name: pairs ? 'expPairs' : 'expRange', params: 3, locals, code: c };
}

/** Doubles the exp self-check runs on: inputs and results fit one 64 KiB page. */
export const EXP_CHECK_COUNT = 4000;

/**
 * The self-check's inputs: every branch of exp and its edges (the thresholds, +-0.5 ln2, +-1.5 ln2,
 * 2^-28, where 2^k leaves the normal range, +-0, +-Infinity, NaN, with the doubles either side),
 * then a fixed pseudo-random spread over the finite range and over the margins fits produce.
 */
export function expCheckInputs(count = EXP_CHECK_COUNT): Float64Array {
  const edges = [
    0,
    0.5 * Math.LN2,
    1.5 * Math.LN2,
    2 ** -28,
    2 ** -1022,
    5e-324,
    1,
    2,
    20,
    36.7,
    700,
    -1021 * Math.LN2,
    -1022 * Math.LN2,
    -1000 * Math.LN2,
    1023.5 * Math.LN2,
    O_THRESHOLD,
    U_THRESHOLD,
    709.78,
    745,
    746,
    1e300,
    Number.MAX_VALUE,
    Number.POSITIVE_INFINITY,
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
