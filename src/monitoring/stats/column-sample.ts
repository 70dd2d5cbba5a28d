/**
 * One window's raw values of one feature, split once into what the tests use (finite numbers sorted
 * in a Float64Array, or category counts) and what they leave out (nulls, NaN, +-Infinity, values of
 * another type). No per-value objects: large windows stay cheap.
 */

import { sortFloat64 } from '../../data/stats/index.js';

/** A served value as logged: a number, a category, a flag, or missing. */
export type RawValue = number | string | boolean | bigint | null | undefined;

/** A column of raw values: a plain array, or a typed array of numbers. */
export type RawColumn = ArrayLike<RawValue>;

export type FeatureKind = 'numeric' | 'categorical';

/** Values of a numeric feature: finite ones sorted, the rest counted by why they were left out. */
export interface NumericSample {
  sorted: Float64Array;
  total: number;
  nulls: number;
  nan: number;
  infinite: number;
  /** Strings and booleans in a numeric column: a type change, never silently coerced. */
  wrongType: number;
}

/** Values of a categorical feature as counts by their string form; nulls counted apart. */
export interface CategorySample {
  counts: Map<string, number>;
  rows: number;
  total: number;
  nulls: number;
  /** Numbers among the categories of a string column (kept as categories, counted for quality). */
  wrongType: number;
}

/** Splits a column into sorted finite numbers and counts of what was left out. */
export function numericSample(values: RawColumn): NumericSample {
  if (values instanceof Float64Array || values instanceof Float32Array) return typedSample(values);
  const n = values.length;
  const buf = new Float64Array(n);
  let k = 0;
  let nulls = 0;
  let nan = 0;
  let infinite = 0;
  let wrongType = 0;
  for (let i = 0; i < n; i++) {
    const x = values[i];
    if (typeof x === 'number') {
      if (Number.isFinite(x)) buf[k++] = x;
      else if (Number.isNaN(x)) nan++;
      else infinite++;
    } else if (x === null || x === undefined) nulls++;
    else if (typeof x === 'bigint') buf[k++] = Number(x);
    else wrongType++;
  }
  const sorted = sortFloat64(k === n ? buf : buf.slice(0, k));
  return { sorted, total: n, nulls, nan, infinite, wrongType };
}

// Typed arrays hold only numbers: no type checks per value, NaN is the only "missing".
function typedSample(values: Float64Array | Float32Array): NumericSample {
  const n = values.length;
  const buf = new Float64Array(n);
  let k = 0;
  let nan = 0;
  for (let i = 0; i < n; i++) {
    const x = values[i] as number;
    if (Number.isFinite(x)) buf[k++] = x;
    else if (Number.isNaN(x)) nan++;
  }
  const sorted = sortFloat64(k === n ? buf : buf.slice(0, k));
  return { sorted, total: n, nulls: 0, nan, infinite: n - k - nan, wrongType: 0 };
}

/** Counts the categories of a column (by String(value)); numbers in it are counted as wrongType. */
export function categorySample(values: RawColumn): CategorySample {
  const counts = new Map<string, number>();
  let nulls = 0;
  let wrongType = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x === null || x === undefined || (typeof x === 'number' && Number.isNaN(x))) {
      nulls++;
      continue;
    }
    if (typeof x === 'number' || typeof x === 'bigint') wrongType++;
    const key = String(x);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { counts, rows: values.length - nulls, total: values.length, nulls, wrongType };
}

/** Numeric when the first non-null value is a number (typed arrays are always numeric); null when all null. */
export function inferKind(values: RawColumn): FeatureKind | null {
  if (ArrayBuffer.isView(values)) return 'numeric';
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x === null || x === undefined) continue;
    return typeof x === 'number' || typeof x === 'bigint' ? 'numeric' : 'categorical';
  }
  return null;
}

/** Number of distinct values in a sorted array. */
export function countUniques(sorted: Float64Array): number {
  let u = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) u++;
  return u;
}

/** Index of the first element >= x in a sorted array (searchsorted left). */
export function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element > x in a sorted array (searchsorted right). */
export function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Run-length counts of a sorted array keyed by the numbers' string form (category view of a numeric column). */
export function sortedCounts(sorted: Float64Array): Map<string, number> {
  const out = new Map<string, number>();
  let i = 0;
  while (i < sorted.length) {
    const x = sorted[i] as number;
    const j = upperBound(sorted, x);
    out.set(String(x), j - i);
    i = j;
  }
  return out;
}
