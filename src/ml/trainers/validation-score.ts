import type { Task } from './trainer.types.js';

/**
 * The per-iteration score of held-out rows. Kept here, small, so trainers don't depend on the
 * evaluation module built on top of them.
 */
export function validationScore(
  task: Task,
  y: Float64Array,
  rows: Uint32Array,
  margin: Float64Array,
): { loss: number; metric: number } {
  const n = rows.length;
  if (task === 'regression') {
    let ss = 0;
    for (let k = 0; k < n; k++) {
      const d = margin[k]! - y[rows[k]!]!;
      ss += d * d;
    }
    const mse = ss / n;
    return { loss: mse, metric: Math.sqrt(mse) };
  }
  let ll = 0;
  const p = new Float64Array(n);
  const labels = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const pk = sigmoid(margin[k]!);
    const yk = y[rows[k]!]!;
    p[k] = pk;
    labels[k] = yk;
    const clipped = Math.min(Math.max(pk, 1e-15), 1 - 1e-15);
    ll -= yk === 1 ? Math.log(clipped) : Math.log(1 - clipped);
  }
  return { loss: ll / n, metric: rocAuc(labels, p) };
}

/** ROC AUC by the rank-sum (Mann-Whitney) formula; tied scores share their average rank. NaN with one class. */
export function rocAuc(labels: Float64Array, scores: Float64Array): number {
  // A native numeric sort of the scores, then each positive's average rank by two binary searches.
  const sorted = Float64Array.from(scores).sort();
  let rankSumPos = 0;
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    const s = scores[i]!;
    const below = bound(sorted, s, false);
    const upTo = bound(sorted, s, true);
    rankSumPos += (below + 1 + upTo) / 2;
    positives++;
  }
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSumPos - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Number of sorted values < s (or <= s when inclusive). */
function bound(sorted: Float64Array, s: number, inclusive: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v < s || (inclusive && v === s)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The logistic function, as ONNX Sigmoid computes it in double. */
export function sigmoid(m: number): number {
  return 1 / (1 + Math.exp(-m));
}

/**
 * Softmax of v[at .. at+k) in place, as ONNX Softmax computes it in double: the row's maximum
 * subtracted, exponentials, divided by their sum.
 */
export function softmaxInPlace(v: Float64Array, at: number, k: number): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < k; c++) max = Math.max(max, v[at + c]!);
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const e = Math.exp(v[at + c]! - max);
    v[at + c] = e;
    sum += e;
  }
  for (let c = 0; c < k; c++) v[at + c] = v[at + c]! / sum;
}

/**
 * The per-iteration score of held-out rows for K > 2 classes, from margins row-major [rows, K]:
 * `loss` is the mean multiclass log loss, `metric` the accuracy (higher is better).
 */
export function validationScoreMulti(
  y: Float64Array,
  rows: Uint32Array,
  margins: Float64Array,
  k: number,
): { loss: number; metric: number } {
  const p = Float64Array.from(margins);
  let ll = 0;
  let correct = 0;
  for (let r = 0; r < rows.length; r++) {
    softmaxInPlace(p, r * k, k);
    const yr = y[rows[r]!]!;
    ll -= Math.log(Math.min(Math.max(p[r * k + yr]!, 1e-15), 1 - 1e-15));
    let best = 0;
    for (let c = 1; c < k; c++) if (p[r * k + c]! > p[r * k + best]!) best = c;
    if (best === yr) correct++;
  }
  return { loss: ll / rows.length, metric: correct / rows.length };
}
