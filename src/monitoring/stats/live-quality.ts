import { z } from 'zod';
import type { RawColumn } from './column-sample.js';
import { prepareReference, type ReferenceInput } from './reference.js';

/** A value's type as served. */
export const ValueTypeSchema = z.enum(['number', 'string', 'boolean']);
export type ValueType = z.infer<typeof ValueTypeSchema>;

/** Live data quality of one feature in one window, judged against its reference. */
export const LiveQualitySchema = z.object({
  feature: z.string(),
  /** Rows in the window, nulls included. */
  rows: z.number(),
  nulls: z.number(),
  nullShare: z.number(),
  /** The reference's null share, for comparison (null when unknown). */
  referenceNullShare: z.number().nullable(),
  nan: z.number(),
  infinite: z.number(),
  /** Finite numbers outside the reference's [min, max] (numeric features). */
  outOfRange: z.number(),
  /** outOfRange over finite numbers; 0 when there are none. */
  outOfRangeShare: z.number(),
  /** Non-null values not among the reference's categories (categorical features, and numeric ones with few values). */
  unseen: z.number(),
  /** unseen over non-null values. */
  unseenShare: z.number(),
  /** The most frequent unseen values, most frequent first (at most 5). */
  unseenExamples: z.array(z.object({ value: z.string(), count: z.number() })),
  /** False when the reference lists only its frequent values (a profile's incomplete top-k): unseen is then an upper bound. */
  unseenExact: z.boolean(),
  /** The type the reference has. */
  expectedType: ValueTypeSchema.nullable(),
  /** Non-null values by type. */
  types: z.object({ number: z.number(), string: z.number(), boolean: z.number() }),
  /** Non-null values whose type differs from the reference's. */
  typeChanges: z.number(),
  typeChangeShare: z.number(),
});
export type LiveQuality = z.infer<typeof LiveQualitySchema>;

const EXAMPLES = 5;

/**
 * Nulls, NaN/Infinity, values outside the reference range, unseen categories and type changes of a
 * window's raw values against a reference (a stored profile or raw values).
 */
export function liveQuality(reference: ReferenceInput, current: RawColumn, feature?: string): LiveQuality {
  const name =
    feature ??
    (typeof reference === 'object' && 'name' in reference && typeof reference.name === 'string'
      ? reference.name
      : 'value');
  const ref = prepareReference(reference, name);
  const expectedType: ValueType | null =
    ref.kind === 'numeric' ? 'number' : ref.kind === 'categorical' ? ref.valueType : null;
  const types: Record<ValueType, number> = { number: 0, string: 0, boolean: 0 };
  let nulls = 0;
  let nan = 0;
  let infinite = 0;
  let finite = 0;
  let outOfRange = 0;
  const unseenCounts = new Map<string, number>();
  const categories = ref.kind === 'unsupported' ? null : ref.categories;
  const lo = ref.kind === 'numeric' ? ref.min : Number.NEGATIVE_INFINITY;
  const hi = ref.kind === 'numeric' ? ref.max : Number.POSITIVE_INFINITY;
  const numericRef = ref.kind === 'numeric';
  for (let i = 0; i < current.length; i++) {
    const x = current[i];
    if (x === null || x === undefined) {
      nulls++;
      continue;
    }
    if (typeof x === 'number' || typeof x === 'bigint') {
      types.number++;
      const v = Number(x);
      if (Number.isNaN(v)) nan++;
      else if (!Number.isFinite(v)) infinite++;
      else {
        finite++;
        if (numericRef && (v < lo || v > hi)) outOfRange++;
      }
      // Unseen among a numeric feature's few values (a code column); a NaN is counted as such, not as unseen.
      if (categories && Number.isFinite(v)) countUnseen(categories, String(v), unseenCounts);
      continue;
    }
    types[typeof x === 'boolean' ? 'boolean' : 'string']++;
    if (categories && !numericRef) countUnseen(categories, String(x), unseenCounts);
  }
  const nonNull = current.length - nulls;
  const unseen = [...unseenCounts.values()].reduce((a, b) => a + b, 0);
  const typeChanges = expectedType ? nonNull - types[expectedType] : 0;
  return {
    feature: name,
    rows: current.length,
    nulls,
    nullShare: share(nulls, current.length),
    referenceNullShare: ref.kind === 'unsupported' ? null : share(ref.nulls, ref.rows + ref.nulls),
    nan,
    infinite,
    outOfRange,
    outOfRangeShare: share(outOfRange, finite),
    unseen,
    unseenShare: share(unseen, nonNull),
    unseenExamples: [...unseenCounts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, EXAMPLES)
      .map(([value, count]) => ({ value, count })),
    unseenExact: ref.kind === 'unsupported' ? true : ref.categoriesComplete,
    expectedType,
    types,
    typeChanges,
    typeChangeShare: share(typeChanges, nonNull),
  };
}

function countUnseen(categories: Map<string, number>, key: string, out: Map<string, number>): void {
  if (!categories.has(key)) out.set(key, (out.get(key) ?? 0) + 1);
}

function share(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}
