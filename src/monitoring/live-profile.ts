import type { ColumnProfile, ColumnType } from '../data/tables/index.js';

/*
 * A column profile built from values already in memory (a window of logged predictions), in the same
 * shape as the stored profiles of dataset versions, so that serving traffic compares with a training
 * profile through the data domain's drift tests. Exact where the stored one is approximate: the
 * sketch holds the exact 101 quantiles (linear interpolation), distinct and frequent values are exact.
 */

const SKETCH_POINTS = 101;
// Categories kept exactly; past this the profile says topK is not complete (as stored profiles do).
const MAX_CATEGORIES = 1000;

/** Null, undefined, NaN and the infinities: values no distribution test may see. */
export function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v));
}

/** The column type the values have (integer, float, boolean, string); undefined when all are missing. */
export function typeOfValues(values: readonly unknown[]): ColumnType | undefined {
  let numbers = 0;
  let integers = 0;
  let booleans = 0;
  let present = 0;
  for (const v of values) {
    if (isMissing(v)) continue;
    present++;
    if (typeof v === 'number') {
      numbers++;
      if (Number.isInteger(v)) integers++;
    } else if (typeof v === 'boolean') booleans++;
  }
  if (present === 0) return undefined;
  if (numbers === present) return integers === present ? 'integer' : 'float';
  if (booleans === present) return 'boolean';
  return 'string';
}

/** The type a value of a column of this type should have, for type-change checks. */
export function valueMatches(type: ColumnType, v: unknown): boolean {
  switch (type) {
    case 'integer':
    case 'float':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return typeof v === 'string';
  }
}

/** The profile of one column from its raw values; `type` forces the reference's type when known. */
export function liveColumnProfile(
  name: string,
  values: readonly unknown[],
  type?: ColumnType,
): ColumnProfile {
  const t = type ?? typeOfValues(values) ?? 'string';
  const numeric = t === 'integer' || t === 'float';
  const present = values.filter((v) => !isMissing(v) && (!numeric || typeof v === 'number'));
  const base: ColumnProfile = {
    name,
    type: t,
    count: values.length,
    nulls: values.length - present.length,
    distinct: 0,
    hll: '',
  };
  const counts = new Map<string, number>();
  for (const v of present) {
    const k = String(v);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  base.distinct = counts.size;
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  base.topK = top.slice(0, MAX_CATEGORIES).map(([value, count]) => ({ value, count }));
  base.topKComplete = counts.size <= MAX_CATEGORIES;
  if (!numeric || present.length === 0) return base;
  const xs = Float64Array.from(present as number[]).sort();
  const n = xs.length;
  let mean = 0;
  let m2 = 0;
  // Welford: stable for large values with small spread.
  for (let i = 0; i < n; i++) {
    const x = xs[i] as number;
    const d = x - mean;
    mean += d / (i + 1);
    m2 += d * (x - mean);
  }
  const sketch = Array.from({ length: SKETCH_POINTS }, (_, i) => quantileSorted(xs, i / (SKETCH_POINTS - 1)));
  return {
    ...base,
    min: xs[0] as number,
    max: xs[n - 1] as number,
    mean,
    m2,
    std: n > 1 ? Math.sqrt(m2 / (n - 1)) : 0,
    sketch,
  };
}

// Linear interpolation between order statistics (numpy's default quantile method).
function quantileSorted(xs: Float64Array, p: number): number {
  const pos = p * (xs.length - 1);
  const i = Math.floor(pos);
  const a = xs[i] as number;
  const b = xs[Math.min(i + 1, xs.length - 1)] as number;
  return a + (b - a) * (pos - i);
}
