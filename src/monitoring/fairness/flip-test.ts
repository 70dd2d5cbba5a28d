import { ValidationError } from '../../core/errors.js';
import { checkSameLength } from '../binary-inputs.js';
import type { FairnessValue } from './bias-metrics.js';
import {
  binaryOutcomes,
  checkMinGroupSize,
  FAIRNESS_DEFAULTS,
  type FacetValue,
  type LabelValue,
  splitByFacet,
} from './facet-groups.js';

/*
 * Clarify's flip test (FT): a k-nearest-neighbours classifier fitted on the rest's rows (a) with the
 * model's predicted labels answers "what would the model have said had this row been in a?" for each
 * row of d; FT = (rows flipped 1 -> 0 minus rows flipped 0 -> 1) / n_d, where "1 -> 0" means the
 * model said 1 and the as-if-a neighbours say 0. Positive FT: d is favoured compared with similar a
 * rows. k = 5, or 1 when a has at most 9 rows (Clarify's constants); Euclidean distance on the raw
 * numeric features, uniform votes, distance ties broken by row order. Brute force: n_d x n_a x
 * features operations per group, so feed it a monitor window, not a training set.
 */

/** Input of the flip test: numeric feature rows beside the facet and the model's predicted labels. */
export interface FlipTestInput {
  attribute: string;
  facet: ArrayLike<FacetValue>;
  /** One numeric vector per row, all of the same length (the facet column itself left out). */
  features: ArrayLike<ArrayLike<number>>;
  predictions: ArrayLike<LabelValue>;
  positiveLabel?: string | number | boolean;
  minGroupSize?: number;
}

/** FT for one facet value. */
export interface FlipTestGroup {
  value: string;
  slice: string;
  size: number;
  restSize: number;
  /** d rows the model calls 1 that their a-neighbours call 0, and the other way round. */
  flipsToNegative: number;
  flipsToPositive: number;
  k: number;
  metrics: { FT: FairnessValue };
}

/** FT per facet value. */
export interface FlipTestReport {
  kind: 'post_training';
  attribute: string;
  rows: number;
  excludedRows: number;
  minGroupSize: number;
  groups: FlipTestGroup[];
}

/** Clarify's flip test per facet value vs the rest. */
export function flipTest(input: FlipTestInput): FlipTestReport {
  checkSameLength(input.facet, input.features, 'features', 'facet');
  checkSameLength(input.facet, input.predictions, 'predictions', 'facet');
  const predictions = binaryOutcomes(input.predictions, 'predictions', input.positiveLabel);
  const features = checkFeatures(input.features);
  const minGroupSize = checkMinGroupSize(input.minGroupSize ?? FAIRNESS_DEFAULTS.minGroupSize);
  const { groups, excludedRows } = splitByFacet(input.attribute, input.facet);
  const all = [...groups.values()].flat();
  const out: FlipTestGroup[] = [];
  for (const [value, d] of groups) {
    const inD = new Set(d);
    const a = all.filter((i) => !inD.has(i));
    const k = a.length > 9 ? 5 : 1;
    const base = { value, slice: `${input.attribute}=${value}`, size: d.length, restSize: a.length, k };
    if (d.length < minGroupSize || a.length < minGroupSize) {
      const reason = `group_too_small: n_d = ${d.length}, n_a = ${a.length}, minimum ${minGroupSize}`;
      out.push({
        ...base,
        flipsToNegative: 0,
        flipsToPositive: 0,
        metrics: { FT: { value: null, status: 'insufficient_data', reason } },
      });
      continue;
    }
    let toNegative = 0;
    let toPositive = 0;
    for (const i of d) {
      const asIfA = knnVote(features, predictions, a, features[i]!, k);
      if (predictions[i] === 1 && asIfA === 0) toNegative++;
      else if (predictions[i] === 0 && asIfA === 1) toPositive++;
    }
    out.push({
      ...base,
      flipsToNegative: toNegative,
      flipsToPositive: toPositive,
      metrics: { FT: { value: (toNegative - toPositive) / d.length, status: 'ok' } },
    });
  }
  return {
    kind: 'post_training',
    attribute: input.attribute,
    rows: all.length,
    excludedRows,
    minGroupSize,
    groups: out,
  };
}

function checkFeatures(rows: ArrayLike<ArrayLike<number>>): Float64Array[] {
  const width = rows.length > 0 ? rows[0]!.length : 0;
  const out: Float64Array[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.length !== width) {
      throw new ValidationError(`features[${i}]: has ${row.length} values, the first row has ${width}`, {
        field: `features[${i}]`,
      });
    }
    const v = new Float64Array(width);
    for (let j = 0; j < width; j++) {
      const x = row[j];
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw new ValidationError(
          `features[${i}][${j}]: the flip test needs finite numbers, got ${String(x)}`,
          {
            field: `features[${i}][${j}]`,
          },
        );
      }
      v[j] = x;
    }
    out.push(v);
  }
  return out;
}

/** Majority predicted label among the k nearest rows of `pool` (ties in distance: earlier row first). */
function knnVote(
  features: Float64Array[],
  labels: Uint8Array,
  pool: number[],
  x: Float64Array,
  k: number,
): number {
  // Keep the k best as a small sorted list: k is 1 or 5, so insertion beats a heap.
  const bestD: number[] = [];
  const bestI: number[] = [];
  for (const j of pool) {
    const f = features[j]!;
    let d = 0;
    for (let c = 0; c < f.length; c++) d += (f[c]! - x[c]!) ** 2;
    if (bestD.length === k && d >= bestD[k - 1]!) continue;
    let at = bestD.length;
    while (at > 0 && bestD[at - 1]! > d) at--;
    bestD.splice(at, 0, d);
    bestI.splice(at, 0, j);
    if (bestD.length > k) {
      bestD.pop();
      bestI.pop();
    }
  }
  let ones = 0;
  for (const j of bestI) ones += labels[j]!;
  return ones * 2 > bestI.length ? 1 : 0;
}
