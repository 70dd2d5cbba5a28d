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
  return sortFloat64(out);
}

// Below this size the native sort wins (the radix passes cost four sweeps plus a 64k-entry count).
const RADIX_MIN = 4096;

/**
 * Sorts finite doubles in place, ascending: an LSD radix sort on the IEEE bits (four 16-bit passes)
 * for large arrays, about 1.5x faster than TypedArray.prototype.sort on a window of 300k values.
 * NaN must not be present (callers filter it); -0 sorts before +0, which every statistic here treats
 * as equal.
 */
export function sortFloat64(a: Float64Array): Float64Array {
  const n = a.length;
  if (n < RADIX_MIN) return a.sort();
  const words = new Uint32Array(a.buffer, a.byteOffset, n * 2);
  // Map the bits to unsigned order: positives get the sign bit set, negatives are inverted.
  for (let i = 0; i < n; i++) {
    const hi = words[2 * i + 1] as number;
    if (hi & 0x80000000) {
      words[2 * i + 1] = ~hi >>> 0;
      words[2 * i] = ~(words[2 * i] as number) >>> 0;
    } else words[2 * i + 1] = (hi | 0x80000000) >>> 0;
  }
  let src: Uint32Array = words;
  let dst: Uint32Array = new Uint32Array(n * 2);
  const count = new Uint32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const word = pass >> 1;
    const shift = (pass & 1) * 16;
    count.fill(0);
    for (let i = 0; i < n; i++) {
      const key = ((src[2 * i + word] as number) >>> shift) & 0xffff;
      count[key] = (count[key] as number) + 1;
    }
    let sum = 0;
    for (let k = 0; k < 65536; k++) {
      const c = count[k] as number;
      count[k] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const key = ((src[2 * i + word] as number) >>> shift) & 0xffff;
      const d = count[key] as number;
      count[key] = d + 1;
      dst[2 * d] = src[2 * i] as number;
      dst[2 * d + 1] = src[2 * i + 1] as number;
    }
    [src, dst] = [dst, src];
  }
  // Four passes: the sorted keys are back in `words` (a's own buffer). Undo the bit mapping.
  for (let i = 0; i < n; i++) {
    const hi = src[2 * i + 1] as number;
    if (hi & 0x80000000) src[2 * i + 1] = (hi & 0x7fffffff) >>> 0;
    else {
      src[2 * i + 1] = ~hi >>> 0;
      src[2 * i] = ~(src[2 * i] as number) >>> 0;
    }
  }
  return a;
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
