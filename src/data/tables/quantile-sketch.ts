/**
 * A distribution kept as 101 quantiles (p0..p100). The CDF between two points is linear, which makes
 * the sketch mergeable (the union's CDF is the count-weighted mean of the parts' CDFs) and comparable
 * (KS and Wasserstein from two sketches), at the price of ~1% resolution in probability.
 */
export const SKETCH_POINTS = 101;

/** The fractions 0, 0.01, ..., 1 as DuckDB list literal text. */
export function sketchFractionsSql(): string {
  return `[${Array.from({ length: SKETCH_POINTS }, (_, i) => (i / (SKETCH_POINTS - 1)).toFixed(2)).join(', ')}]`;
}

/** P(X <= x) from a sketch. */
export function sketchCdf(sketch: readonly number[], x: number): number {
  const n = sketch.length;
  const first = sketch[0];
  const last = sketch[n - 1];
  if (first === undefined || last === undefined) return 0;
  if (x < first) return 0;
  if (x >= last) return 1;
  // The last point <= x; a run of equal quantiles (a tie) thereby counts its whole mass at that value.
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((sketch[mid] as number) <= x) lo = mid;
    else hi = mid;
  }
  const a = sketch[lo] as number;
  const b = sketch[lo + 1] as number;
  return (lo + (x - a) / (b - a)) / (n - 1);
}

/** The value at probability p (0..1) from a sketch. */
export function sketchQuantile(sketch: readonly number[], p: number): number {
  const pos = Math.min(Math.max(p, 0), 1) * (sketch.length - 1);
  const i = Math.floor(pos);
  const a = sketch[i] as number;
  const b = sketch[Math.min(i + 1, sketch.length - 1)] as number;
  return a + (b - a) * (pos - i);
}

/** The sketch of the union of two samples of sizes na and nb. */
export function mergeSketches(a: readonly number[], na: number, b: readonly number[], nb: number): number[] {
  if (na === 0 || a.length === 0) return [...b];
  if (nb === 0 || b.length === 0) return [...a];
  const cdf = (x: number) => (na * sketchCdf(a, x) + nb * sketchCdf(b, x)) / (na + nb);
  const lo = Math.min(a[0] as number, b[0] as number);
  const hi = Math.max(a[a.length - 1] as number, b[b.length - 1] as number);
  const out: number[] = [lo];
  for (let i = 1; i < SKETCH_POINTS - 1; i++) out.push(invert(cdf, i / (SKETCH_POINTS - 1), lo, hi));
  out.push(hi);
  return out;
}

function invert(cdf: (x: number) => number, p: number, lo: number, hi: number): number {
  let a = lo;
  let b = hi;
  for (let k = 0; k < 60 && b - a > 1e-12 * Math.max(1, Math.abs(b)); k++) {
    const mid = (a + b) / 2;
    if (cdf(mid) < p) a = mid;
    else b = mid;
  }
  return b;
}

/** Named quantiles (p1..p99) read from a sketch. */
export function summaryQuantiles(sketch: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of [1, 5, 25, 50, 75, 95, 99]) out[`p${p}`] = sketchQuantile(sketch, p / 100);
  return out;
}
