/**
 * Exact two-sample statistics on sorted Float64Arrays: the fast path of drift on large windows (one
 * typed-array sort per column, then linear merges, no per-value allocation). ksTest and wasserstein
 * delegate here, so raw-value results are the same whichever entry point a caller uses.
 */

/** Sorts the finite values of a sample into a new Float64Array (NaN and +-Infinity left out). */
export function sortedFinite(values: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) n++;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    if (Number.isFinite(x)) out[k++] = x;
  }
  return out.sort();
}

/** KS statistic D = sup |F_a - F_b| of two sorted samples (ties handled as scipy's searchsorted right). */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return 0;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const ai = a[i] as number;
    const bj = b[j] as number;
    const x = Math.min(ai, bj);
    while (i < n && (a[i] as number) <= x) i++;
    while (j < m && (b[j] as number) <= x) j++;
    const gap = Math.abs(i / n - j / m);
    if (gap > d) d = gap;
  }
  return d;
}

/**
 * First Wasserstein distance of two sorted samples: the integral of |F_a - F_b| over x, summed over
 * the merged order (as scipy.stats.wasserstein_distance).
 */
export function wassersteinSorted(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return 0;
  let i = 0;
  let j = 0;
  let area = 0;
  // Kahan summation keeps the 1e-6 agreement with scipy on millions of small terms.
  let comp = 0;
  let prev = Math.min(a[0] as number, b[0] as number);
  while (i < n || j < m) {
    const x = j >= m || (i < n && (a[i] as number) <= (b[j] as number)) ? (a[i] as number) : (b[j] as number);
    const term = Math.abs(i / n - j / m) * (x - prev);
    const y = term - comp;
    const t = area + y;
    comp = t - area - y;
    area = t;
    while (i < n && (a[i] as number) <= x) i++;
    while (j < m && (b[j] as number) <= x) j++;
    prev = x;
  }
  return area;
}

/** Mean and sample standard deviation (n - 1) of a typed array, two-pass for accuracy. */
export function meanStd(xs: ArrayLike<number>): { mean: number; std: number } {
  const n = xs.length;
  if (n === 0) return { mean: 0, std: 0 };
  let s = 0;
  for (let i = 0; i < n; i++) s += xs[i] as number;
  const mean = s / n;
  if (n < 2) return { mean, std: 0 };
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = (xs[i] as number) - mean;
    ss += d * d;
  }
  return { mean, std: Math.sqrt(ss / (n - 1)) };
}
