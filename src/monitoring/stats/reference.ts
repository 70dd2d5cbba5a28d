import { meanStd } from '../../data/stats/index.js';
import { type ColumnProfile, sketchCdf } from '../../data/tables/index.js';
import {
  categorySample,
  countUniques,
  type FeatureKind,
  inferKind,
  numericSample,
  type RawColumn,
  sortedCounts,
} from './column-sample.js';

/*
 * A feature's reference, prepared once and reused for every window: raw values are sorted once, a
 * stored profile (training set) is read as it is (its 101-point sketch, top-k counts, min/max).
 */

/** A stored profile or raw values: what featureDrift and liveQuality accept as reference. */
export type ReferenceInput = ColumnProfile | RawColumn | PreparedReference;

interface ReferenceBase {
  feature: string;
  /** Non-null (and, for numbers, finite) reference rows. */
  rows: number;
  nulls: number;
  /** Distinct values (approximate for profiles: HyperLogLog). */
  uniques: number;
  /** 'profile' when the statistics come from a sketch (approximate), 'raw' when exact. */
  source: 'raw' | 'profile';
  /** Category counts when the column is categorical, or numeric with few values and all of them known. */
  categories: Map<string, number> | null;
  /** True when `categories` lists every reference value (raw data, or a complete top-k). */
  categoriesComplete: boolean;
}

export interface NumericReference extends ReferenceBase {
  kind: 'numeric';
  min: number;
  max: number;
  std: number;
  /** Raw reference: every finite value, sorted. */
  sorted: Float64Array | null;
  /** Profile reference: the 101 quantiles p0..p100. */
  sketch: readonly number[] | null;
}

export interface CategoricalReference extends ReferenceBase {
  kind: 'categorical';
  categories: Map<string, number>;
  /** The reference values' type, for type-change counts ('string' or 'boolean'). */
  valueType: 'string' | 'boolean';
}

/** A reference ready for many windows; `unsupported` for time columns (not drift-tested). */
export type PreparedReference =
  | NumericReference
  | CategoricalReference
  | { kind: 'unsupported'; feature: string; rows: number; reason: string };

// Numeric columns with at most this many values are compared as categories (as data/stats does).
export const CATEGORY_LIMIT = 20;

/** True for a PreparedReference (as opposed to a profile or a raw column). */
export function isPrepared(x: ReferenceInput): x is PreparedReference {
  return !isColumnLike(x) && 'kind' in x && 'feature' in x;
}

/** True for a stored column profile. */
export function isProfile(x: ReferenceInput): x is ColumnProfile {
  return !isColumnLike(x) && 'hll' in x && 'count' in x;
}

function isColumnLike(x: ReferenceInput): x is RawColumn {
  return Array.isArray(x) || ArrayBuffer.isView(x);
}

/**
 * Prepares a reference once (sorts raw values, indexes a profile's top-k). `kind` overrides the
 * inferred kind of raw values (a numeric code compared as a category, say).
 */
export function prepareReference(
  input: ReferenceInput,
  feature: string,
  kind?: FeatureKind,
): PreparedReference {
  if (isPrepared(input)) return input;
  if (isProfile(input)) return fromProfile(input, feature, kind);
  return fromRaw(input as RawColumn, feature, kind ?? inferKind(input as RawColumn) ?? 'numeric');
}

function fromRaw(values: RawColumn, feature: string, kind: FeatureKind): PreparedReference {
  if (kind === 'numeric') {
    const s = numericSample(values);
    const uniques = countUniques(s.sorted);
    const n = s.sorted.length;
    return {
      kind: 'numeric',
      feature,
      source: 'raw',
      rows: n,
      nulls: s.total - n,
      uniques,
      min: n > 0 ? (s.sorted[0] as number) : 0,
      max: n > 0 ? (s.sorted[n - 1] as number) : 0,
      std: meanStd(s.sorted).std,
      sorted: s.sorted,
      sketch: null,
      categories: uniques <= CATEGORY_LIMIT ? sortedCounts(s.sorted) : null,
      categoriesComplete: true,
    };
  }
  const c = categorySample(values);
  let valueType: 'string' | 'boolean' = 'string';
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x === null || x === undefined) continue;
    valueType = typeof x === 'boolean' ? 'boolean' : 'string';
    break;
  }
  return {
    kind: 'categorical',
    feature,
    source: 'raw',
    rows: c.rows,
    nulls: c.nulls,
    uniques: c.counts.size,
    categories: c.counts,
    categoriesComplete: true,
    valueType,
  };
}

// The feature is named by the caller (the monitor's feature name), whatever the profile's column is called.
function fromProfile(p: ColumnProfile, feature: string, kind?: FeatureKind): PreparedReference {
  const rows = p.count - p.nulls;
  if (p.type === 'timestamp' || p.type === 'date') {
    return { kind: 'unsupported', feature, rows, reason: 'time columns are not drift-tested' };
  }
  const numericType = p.type === 'integer' || p.type === 'float';
  const complete = p.topKComplete === true;
  if (numericType && kind !== 'categorical' && p.sketch && p.sketch.length > 1) {
    const categories =
      p.distinct <= CATEGORY_LIMIT && complete
        ? new Map((p.topK ?? []).map((t) => [String(Number(t.value)), t.count]))
        : null;
    return {
      kind: 'numeric',
      feature,
      source: 'profile',
      rows,
      nulls: p.nulls,
      uniques: p.distinct,
      min: typeof p.min === 'number' ? p.min : (p.sketch[0] as number),
      max: typeof p.max === 'number' ? p.max : (p.sketch[p.sketch.length - 1] as number),
      std: p.std ?? 0,
      sorted: null,
      sketch: p.sketch,
      categories,
      categoriesComplete: categories !== null,
    };
  }
  const categories = new Map(
    (p.topK ?? []).map((t) => [numericType ? String(Number(t.value)) : t.value, t.count]),
  );
  return {
    kind: 'categorical',
    feature,
    source: 'profile',
    rows,
    nulls: p.nulls,
    uniques: p.distinct,
    categories,
    categoriesComplete: complete,
    valueType: p.type === 'boolean' ? 'boolean' : 'string',
  };
}

/** Reference rows with value < x (numeric references only). */
export function referenceCountBelow(ref: NumericReference, x: number): number {
  if (ref.sorted) {
    let lo = 0;
    let hi = ref.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ref.sorted[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  return sketchCdf(ref.sketch ?? [], x) * ref.rows;
}
