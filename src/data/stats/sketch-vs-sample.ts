/**
 * Drift statistics of a raw sample (a serving window, sorted) against a reference known only by its
 * stored quantile sketch (p0..p100, linear in between, as data/tables keeps it). The current side is
 * exact; all the approximation is the sketch's, and it is bounded:
 *
 * - KS: between two sketch points the true reference CDF and the sketch's both stay inside the same
 *   1/(points-1) step of probability, so |D_sketch - D_exact| <= 1/(points-1) = 0.01.
 * - Wasserstein: on each of the 100 probability steps the true quantile function and the sketch's
 *   linear one are both monotone inside the box [s_k, s_k+1] x [k/100, (k+1)/100], so they differ
 *   by at most half its area; summed, |W_sketch - W_exact| <= (s_100 - s_0) / 200 (in the column's
 *   units; divide by the std for the normalised distance).
 *
 * Both bounds assume the sketch points are the reference's quantiles. Profiles compute them with
 * DuckDB's approx_quantile (t-digest), whose own error adds to the bound (well under 0.5% of
 * probability at these sample sizes).
 */

/** Bound on |D_sketch - D_exact| for a sketch of `points` quantiles. */
export function ksSketchErrorBound(points: number): number {
  return 1 / Math.max(1, points - 1);
}

/** Bound on |W_sketch - W_exact| (un-normalised) for a sketch. */
export function wassersteinSketchErrorBound(sketch: readonly number[]): number {
  if (sketch.length < 2) return 0;
  return ((sketch[sketch.length - 1] as number) - (sketch[0] as number)) / (2 * (sketch.length - 1));
}

/** P(X <= x) under the sketch (right limit). */
function cdfRight(s: readonly number[], x: number): number {
  const last = s.length - 1;
  if (x < (s[0] as number)) return 0;
  if (x >= (s[last] as number)) return 1;
  let lo = 0;
  let hi = last;
  // Invariant: s[lo] <= x < s[hi].
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((s[mid] as number) <= x) lo = mid;
    else hi = mid;
  }
  const a = s[lo] as number;
  const b = s[hi] as number;
  return (lo + (x - a) / (b - a)) / last;
}

/** P(X < x) under the sketch (left limit: differs from the right one where sketch points tie). */
function cdfLeft(s: readonly number[], x: number): number {
  const last = s.length - 1;
  if (x <= (s[0] as number)) return 0;
  if (x > (s[last] as number)) return 1;
  let lo = 0;
  let hi = last;
  // Invariant: s[lo] < x <= s[hi].
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((s[mid] as number) < x) lo = mid;
    else hi = mid;
  }
  const a = s[lo] as number;
  const b = s[hi] as number;
  return (lo + (x - a) / (b - a)) / last;
}

function searchSorted(sorted: Float64Array, x: number, right: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid] as number;
    if (v < x || (right && v === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * KS statistic between a reference sketch and a sorted raw sample: sup |F_sketch - F_sample|, taken
 * over both limits at every jump of the sample and every sketch point (between those both CDFs are
 * monotone and one is constant, so the supremum lies there).
 */
export function ksSketchVsSorted(sketch: readonly number[], sorted: Float64Array): number {
  const m = sorted.length;
  if (m === 0 || sketch.length < 2) return 0;
  let d = 0;
  let i = 0;
  while (i < m) {
    const x = sorted[i] as number;
    let j = i + 1;
    while (j < m && sorted[j] === x) j++;
    const right = Math.abs(cdfRight(sketch, x) - j / m);
    const left = Math.abs(cdfLeft(sketch, x) - i / m);
    if (right > d) d = right;
    if (left > d) d = left;
    i = j;
  }
  for (const s of sketch) {
    const right = Math.abs(cdfRight(sketch, s) - searchSorted(sorted, s, true) / m);
    const left = Math.abs(cdfLeft(sketch, s) - searchSorted(sorted, s, false) / m);
    if (right > d) d = right;
    if (left > d) d = left;
  }
  return d;
}

/**
 * First Wasserstein distance between a reference sketch and a sorted raw sample, as the integral over
 * p of |Q_sketch(p) - Q_sample(p)|, computed exactly on the merged probability breakpoints.
 */
export function wassersteinSketchVsSorted(sketch: readonly number[], sorted: Float64Array): number {
  const m = sorted.length;
  const steps = sketch.length - 1;
  if (m === 0 || steps < 1) return 0;
  const invM = 1 / m;
  let area = 0;
  // Walk the sketch's probability steps; inside step k the sample values whose probability cells
  // [i/m, (i+1)/m) meet [k/steps, (k+1)/steps) are a contiguous index range.
  for (let k = 0; k < steps; k++) {
    const pA = k / steps;
    const pB = (k + 1) / steps;
    const sk = sketch[k] as number;
    const slope = ((sketch[k + 1] as number) - sk) * steps;
    const iStart = Math.floor(pA * m);
    const iEnd = Math.min(m, Math.ceil(pB * m));
    for (let i = iStart; i < iEnd; i++) {
      const lo = Math.max(i * invM, pA);
      const hi = Math.min((i + 1) * invM, pB);
      if (hi <= lo) continue;
      const c = sorted[i] as number;
      const a = sk + slope * (lo - pA) - c;
      const b = sk + slope * (hi - pA) - c;
      const w = hi - lo;
      if (a * b >= 0) area += (Math.abs(a + b) / 2) * w;
      else {
        // The line crosses c inside the cell: two triangles.
        const t = a / (a - b);
        area += (w * (t * Math.abs(a) + (1 - t) * Math.abs(b))) / 2;
      }
    }
  }
  return area;
}
