import type { EncodedRows, FeatureEncoding } from './feature-encoding.js';
import { categoryOffsets } from './feature-encoding.js';
import { type BinMatrix, binMatrix, binStarts, plainStorage, type Storage } from './gbdt-histogram.js';

/**
 * The histogram view of the encoded rows. A numeric feature's bin b holds the values in
 * (thresholds[b-1], thresholds[b]], so "bin <= b" is exactly "x <= thresholds[b]" and a split
 * found on bins is a threshold split on values. A categorical feature's bin is its category
 * code + 1; bin 0 gathers missing, unseen and rare values (all zeros in the one-hot block).
 */
export interface BinnedFeature {
  kind: 'numeric' | 'categorical';
  /** Index into EncodedRows.numeric or EncodedRows.codes. */
  source: number;
  binCount: number;
  /** Numeric: split thresholds (midpoints between neighbouring training values). */
  thresholds: Float64Array;
  /** Categorical: the encoded-matrix column of category code 0 (code c is column firstColumn + c). */
  firstColumn: number;
}

/** All rows' bins, row-major and numbered across features (see HistogramSpace.bins). */
export interface BinnedRows {
  features: BinnedFeature[];
  bins: BinMatrix;
  /** The same bins column-major and numbered within each feature (see HistogramSpace.columns). */
  columns: Uint8Array | Uint16Array;
  /** First global bin of each feature; the last entry is the total. */
  binStart: Int32Array;
  n: number;
}

/**
 * Bins every feature; thresholds come from the training rows' quantiles (at most maxBin bins). The
 * bins go into `storage` (shared memory when worker threads read them).
 */
export function binFeatures(
  enc: FeatureEncoding,
  x: EncodedRows,
  trainRows: Uint32Array,
  maxBin: number,
  storage: Storage = plainStorage,
): BinnedRows {
  const n = x.n;
  const width = x.numeric.length + x.codes.length;
  const thresholds = x.numeric.map((values) => quantileThresholds(values, trainRows, maxBin));
  const binCounts = [
    ...thresholds.map((t) => t.length + 1),
    ...enc.categorical.map((c) => c.categories.length + 1),
  ];
  const binStart = binStarts(binCounts, storage);
  const bins = binMatrix(binStart[width]!, n * width, storage);
  const columns =
    Math.max(...binCounts) <= 256
      ? new Uint8Array(storage(n * width))
      : new Uint16Array(storage(2 * n * width));
  const features: BinnedFeature[] = [];
  x.numeric.forEach((values, j) => {
    const col = features.length;
    const t = thresholds[j]!;
    const start = binStart[col]!;
    const column = columns.subarray(col * n, (col + 1) * n);
    for (let i = 0; i < n; i++) column[i] = binOf(values[i]!, t);
    for (let i = 0, at = col; i < n; i++, at += width) bins[at] = start + column[i]!;
    features.push({ kind: 'numeric', source: j, binCount: t.length + 1, thresholds: t, firstColumn: -1 });
  });
  const offsets = categoryOffsets(enc);
  x.codes.forEach((codes, j) => {
    const col = features.length;
    const start = binStart[col]!;
    const column = columns.subarray(col * n, (col + 1) * n);
    for (let i = 0; i < n; i++) column[i] = codes[i]! + 1;
    for (let i = 0, at = col; i < n; i++, at += width) bins[at] = start + column[i]!;
    features.push({
      kind: 'categorical',
      source: j,
      binCount: enc.categorical[j]!.categories.length + 1,
      thresholds: new Float64Array(0),
      firstColumn: offsets[j]!,
    });
  });
  return { features, bins, columns, binStart, n };
}

/** First b with x <= thresholds[b] (thresholds.length when x is above all of them). */
function binOf(x: number, thresholds: Float64Array): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= thresholds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function quantileThresholds(values: Float64Array, rows: Uint32Array, maxBin: number): Float64Array {
  const sorted = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) sorted[k] = values[rows[k]!]!;
  sorted.sort();
  const n = sorted.length;
  // Distinct values and how many rows are at or below each.
  const distinct: number[] = [];
  const cumulative: number[] = [];
  for (let k = 0; k < n; k++) {
    const v = sorted[k]!;
    if (distinct.length === 0 || distinct[distinct.length - 1] !== v) {
      distinct.push(v);
      cumulative.push(k + 1);
    } else {
      cumulative[cumulative.length - 1] = k + 1;
    }
  }
  const cuts: number[] = [];
  if (distinct.length <= maxBin) {
    for (let k = 0; k + 1 < distinct.length; k++) cuts.push(k);
  } else {
    // Close a bin after a distinct value once it passes the next 1/maxBin quantile of the rows.
    let target = 1;
    for (let k = 0; k + 1 < distinct.length && cuts.length < maxBin - 1; k++) {
      if (cumulative[k]! >= (target * n) / maxBin) {
        cuts.push(k);
        while ((target * n) / maxBin <= cumulative[k]!) target++;
      }
    }
  }
  return Float64Array.from(cuts, (k) => (distinct[k]! + distinct[k + 1]!) / 2);
}
