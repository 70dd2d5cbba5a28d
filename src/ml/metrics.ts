import { ValidationError } from '../core/errors.js';

/*
 * Evaluation metrics with their textbook definitions. Binary classification takes labels as 0/1 and
 * scores as P(positive); regression takes targets and predictions. Undefined values (AUC with one
 * class, R2 of a constant target, MAPE with only zero targets) are NaN, never a made-up number.
 */

/** Log loss clips probabilities to [eps, 1 - eps] so a confident mistake costs a large, finite amount. */
export const LOG_LOSS_EPS = 1e-15;
export const CALIBRATION_BINS = 10;

export interface ConfusionMatrix {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface CalibrationBin {
  /** The bin covers [lower, upper); the last bin includes 1. */
  lower: number;
  upper: number;
  count: number;
  /** Mean score of the rows in the bin (NaN when empty). */
  meanPredicted: number;
  /** Fraction of positives among the rows in the bin (NaN when empty). */
  fractionPositive: number;
}

export interface ClassificationMetrics {
  count: number;
  positives: number;
  threshold: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  rocAuc: number;
  /** PR AUC as average precision: sum over distinct thresholds of (R_k - R_{k-1}) * P_k (no interpolation). */
  prAuc: number;
  logLoss: number;
  brier: number;
  confusion: ConfusionMatrix;
  calibration: CalibrationBin[];
}

export interface RegressionMetrics {
  count: number;
  mae: number;
  rmse: number;
  r2: number;
  /** Mean |y - yhat| / |y| as a fraction (0.1 = 10%), over rows whose target is not 0. */
  mape: number;
  /** Rows left out of MAPE because their target is 0 (the ratio is undefined there). */
  mapeSkipped: number;
}

function checkLengths(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length)
    throw new ValidationError(`${what}: ${a.length} labels but ${b.length} predictions`, { field: what });
}

/** A safe ratio: NaN when the denominator is 0 (e.g. precision with no predicted positives). */
function ratio(num: number, den: number): number {
  return den === 0 ? Number.NaN : num / den;
}

/**
 * ROC AUC as the Mann-Whitney statistic: the probability that a random positive scores above a random
 * negative, ties counting one half (midranks). NaN when either class is absent.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores, 'rocAuc');
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    // Ranks i+1 .. j+1 share their mean.
    const midrank = (i + 1 + (j + 1)) / 2;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        rankSum += midrank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Average precision (scikit-learn's definition): rows sorted by score descending, one step per distinct
 * score, AP = sum (R_k - R_{k-1}) * P_k. NaN without positives.
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores, 'averagePrecision');
  const n = labels.length;
  let totalPositives = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) totalPositives++;
  if (totalPositives === 0) return Number.NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let tp = 0;
  let seen = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    for (let k = i; k <= j; k++) if (labels[order[k]!] === 1) tp++;
    seen = j + 1;
    const recall = tp / totalPositives;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
    i = j + 1;
  }
  return ap;
}

/** Mean negative log-likelihood of the labels, probabilities clipped to [LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]. */
export function logLoss(labels: ArrayLike<number>, probs: ArrayLike<number>): number {
  checkLengths(labels, probs, 'logLoss');
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, probs[i]!));
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return ratio(sum, labels.length);
}

/** Ten equal-width bins over [0, 1]: mean predicted probability against the observed positive rate. */
export function calibrationTable(
  labels: ArrayLike<number>,
  probs: ArrayLike<number>,
  bins = CALIBRATION_BINS,
): CalibrationBin[] {
  checkLengths(labels, probs, 'calibrationTable');
  const count = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const pos = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const p = probs[i]!;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    count[b]!++;
    sumP[b]! += p;
    if (labels[i] === 1) pos[b]!++;
  }
  return count.map((c, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    count: c,
    meanPredicted: ratio(sumP[b]!, c),
    fractionPositive: ratio(pos[b]!, c),
  }));
}

/** All classification metrics; `threshold` (default 0.5) turns scores into predicted labels (score >= t). */
export function classificationMetrics(
  labels: ArrayLike<number>,
  probs: ArrayLike<number>,
  opts: { threshold?: number } = {},
): ClassificationMetrics {
  checkLengths(labels, probs, 'classificationMetrics');
  const threshold = opts.threshold ?? 0.5;
  const confusion: ConfusionMatrix = { tp: 0, fp: 0, tn: 0, fn: 0 };
  let brier = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y !== 0 && y !== 1)
      throw new ValidationError(`labels must be 0 or 1, got ${y} at row ${i}`, { field: 'labels' });
    const p = probs[i]!;
    const predicted = p >= threshold ? 1 : 0;
    if (predicted === 1) y === 1 ? confusion.tp++ : confusion.fp++;
    else y === 1 ? confusion.fn++ : confusion.tn++;
    brier += (p - y) ** 2;
  }
  const n = labels.length;
  const precision = ratio(confusion.tp, confusion.tp + confusion.fp);
  const recall = ratio(confusion.tp, confusion.tp + confusion.fn);
  return {
    count: n,
    positives: confusion.tp + confusion.fn,
    threshold,
    accuracy: ratio(confusion.tp + confusion.tn, n),
    precision,
    recall,
    // F1 = 2TP / (2TP + FP + FN): defined even when precision is undefined, NaN only with no positives at all.
    f1: ratio(2 * confusion.tp, 2 * confusion.tp + confusion.fp + confusion.fn),
    rocAuc: rocAuc(labels, probs),
    prAuc: averagePrecision(labels, probs),
    logLoss: logLoss(labels, probs),
    brier: ratio(brier, n),
    confusion,
    calibration: calibrationTable(labels, probs),
  };
}

/** MAE, RMSE, R2 (1 - SS_res / SS_tot; NaN for a constant target) and MAPE over non-zero targets. */
export function regressionMetrics(targets: ArrayLike<number>, preds: ArrayLike<number>): RegressionMetrics {
  checkLengths(targets, preds, 'regressionMetrics');
  const n = targets.length;
  let absSum = 0;
  let sqSum = 0;
  let ySum = 0;
  let apeSum = 0;
  let apeCount = 0;
  for (let i = 0; i < n; i++) {
    const y = targets[i]!;
    const e = y - preds[i]!;
    absSum += Math.abs(e);
    sqSum += e * e;
    ySum += y;
    if (y !== 0) {
      apeSum += Math.abs(e) / Math.abs(y);
      apeCount++;
    }
  }
  const mean = ySum / n;
  let ssTot = 0;
  for (let i = 0; i < n; i++) ssTot += (targets[i]! - mean) ** 2;
  return {
    count: n,
    mae: ratio(absSum, n),
    rmse: Math.sqrt(ratio(sqSum, n)),
    r2: ssTot === 0 ? Number.NaN : 1 - sqSum / ssTot,
    mape: ratio(apeSum, apeCount),
    mapeSkipped: n - apeCount,
  };
}

export interface SliceResult<M> {
  /** The slice's value as text; missing values form the slice '(missing)'. */
  slice: string;
  count: number;
  metrics: M;
}

/**
 * The same metrics per value of a column (the fairness work builds on these): `compute` gets the row
 * indices of one slice. Slices come out sorted by value so reports are stable.
 */
export function sliceMetrics<M>(
  sliceValues: ArrayLike<unknown>,
  compute: (rows: number[]) => M,
): SliceResult<M>[] {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < sliceValues.length; i++) {
    const v = sliceValues[i];
    const key = v === null || v === undefined || v === '' ? '(missing)' : String(v);
    const rows = groups.get(key);
    if (rows) rows.push(i);
    else groups.set(key, [i]);
  }
  return [...groups.keys()]
    .sort()
    .map((slice) => ({ slice, count: groups.get(slice)!.length, metrics: compute(groups.get(slice)!) }));
}

/** Picks the given rows out of an array-like, for per-slice metrics. */
export function pick(values: ArrayLike<number>, rows: number[]): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i]!]!;
  return out;
}
