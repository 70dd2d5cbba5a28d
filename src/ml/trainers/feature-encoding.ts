import type { TrainingData } from './training-data.js';
import { toCategoryInput, toFloatInput } from './training-data.js';

/**
 * What preprocessing learned from the training rows; the ONNX graph replays exactly this.
 * Column layout of the encoded matrix: the numeric features first (in feature order), then each
 * categorical feature's one-hot block (its categories in sorted order).
 */
export interface FeatureEncoding {
  /** mean: the imputed value of a missing input; std: the linear model's scale (1 for a constant column). */
  numeric: { name: string; mean: number; std: number }[];
  categorical: { name: string; categories: string[] }[];
}

/** Rows after imputation (numeric, not yet standardised) and category lookup (-1: unknown or missing). */
export interface EncodedRows {
  n: number;
  numeric: Float64Array[];
  codes: Int32Array[];
}

/**
 * Learns imputation values, scales and the kept categories (most frequent, ties by name) from the
 * training rows, and encodes the table's own rows (all of them; trainers pick train/validation rows).
 * The numeric columns of `data` become the encoded ones: their missing values are imputed in place.
 */
export function encodeTraining(
  data: TrainingData,
  maxCategories: number,
): { enc: FeatureEncoding; x: EncodedRows } {
  const rows = data.trainRows;
  const numeric = data.numeric.map(({ name, values }) => ({ name, ...columnStats(values, rows) }));
  const categorical = data.categorical.map(({ name, values }) => ({
    name,
    ...encodeCategories(values, rows, maxCategories),
  }));
  const enc: FeatureEncoding = {
    numeric,
    categorical: categorical.map(({ name, categories }) => ({ name, categories })),
  };
  const x: EncodedRows = {
    n: data.rowCount,
    numeric: data.numeric.map(({ values }, j) => imputeInPlace(values, numeric[j]!.mean)),
    codes: categorical.map((c) => c.codes),
  };
  return { enc, x };
}

/**
 * The mean and standard deviation of a column's values on `rows` (missing ones left out), summed in
 * row order. Indexed loops in a function of their own: as for-of loops in a callback they ran
 * unoptimised long enough to box every sum, some 140 MB of garbage a fit of 100,000 rows.
 */
function columnStats(values: Float64Array, rows: Uint32Array): { mean: number; std: number } {
  let sum = 0;
  let count = 0;
  for (let k = 0; k < rows.length; k++) {
    const v = values[rows[k]!]!;
    if (!Number.isNaN(v)) {
      sum += v;
      count++;
    }
  }
  const mean = count === 0 ? 0 : sum / count;
  let ss = 0;
  for (let k = 0; k < rows.length; k++) {
    const v = values[rows[k]!]!;
    if (!Number.isNaN(v)) ss += (v - mean) * (v - mean);
  }
  const std = count === 0 ? 1 : Math.sqrt(ss / count);
  return { mean, std: std > 1e-12 ? std : 1 };
}

/**
 * One categorical column's kept categories (sorted) and every row's code in them (-1: missing or
 * not kept), from one hash lookup per row: the trainer's preparation runs on the calling thread
 * alone, ahead of any worker. Each value gets a number in order of first sight; the training rows'
 * counts and the codes then go by that number.
 */
function encodeCategories(
  values: (string | undefined)[],
  rows: Uint32Array,
  maxCategories: number,
): { categories: string[]; codes: Int32Array } {
  const index = new Map<string, number>();
  const seen: string[] = [];
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === undefined) {
      codes[i] = -1;
      continue;
    }
    let at = index.get(v);
    if (at === undefined) {
      at = seen.length;
      index.set(v, at);
      seen.push(v);
    }
    codes[i] = at;
  }
  const counts = new Int32Array(seen.length);
  for (let k = 0; k < rows.length; k++) {
    const at = codes[rows[k]!]!;
    if (at >= 0) counts[at]!++;
  }
  // Only values of the training rows are candidates.
  const byFrequency = seen
    .map((c, at): [string, number, number] => [c, counts[at]!, at])
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1] || compare(a[0], b[0]));
  const kept = byFrequency.slice(0, maxCategories).sort((a, b) => compare(a[0], b[0]));
  const codeOf = new Int32Array(seen.length).fill(-1);
  kept.forEach(([, , at], code) => {
    codeOf[at] = code;
  });
  for (let i = 0; i < codes.length; i++) {
    const at = codes[i]!;
    if (at >= 0) codes[i] = codeOf[at]!;
  }
  return { categories: kept.map(([c]) => c), codes };
}

/** Number of columns of the encoded matrix. */
export function encodedWidth(enc: FeatureEncoding): number {
  return enc.numeric.length + enc.categorical.reduce((s, c) => s + c.categories.length, 0);
}

/** Index of each categorical block's first column in the encoded matrix. */
export function categoryOffsets(enc: FeatureEncoding): number[] {
  const offsets: number[] = [];
  let at = enc.numeric.length;
  for (const c of enc.categorical) {
    offsets.push(at);
    at += c.categories.length;
  }
  return offsets;
}

/** Encodes raw feature records the way the ONNX graph does (float32 numbers, strings for categories). */
export function encodeRecords(rows: Record<string, unknown>[], enc: FeatureEncoding): EncodedRows {
  const numeric = enc.numeric.map(({ name, mean }) =>
    imputeInPlace(
      Float64Array.from(rows, (r) => toFloatInput(r[name], name)),
      mean,
    ),
  );
  const codes = enc.categorical.map(({ name, categories }) => {
    const lookup = categoryLookup(categories);
    return Int32Array.from(rows, (r) => lookup.get(toCategoryInput(r[name])) ?? -1);
  });
  return { n: rows.length, numeric, codes };
}

/** The column with its missing values (NaN) replaced by `mean`. */
function imputeInPlace(values: Float64Array, mean: number): Float64Array {
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i]!)) values[i] = mean;
  return values;
}

function categoryLookup(categories: string[]): Map<string, number> {
  return new Map(categories.map((c, k) => [c, k]));
}

/** Code-unit order: the same on every machine and locale. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
