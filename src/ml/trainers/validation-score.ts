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
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0;
  let positives = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const avgRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) {
      if (labels[order[k]!] === 1) {
        rankSumPos += avgRank;
        positives++;
      }
    }
    start = end + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSumPos - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The logistic function, as ONNX Sigmoid computes it in double. */
export function sigmoid(m: number): number {
  return 1 / (1 + Math.exp(-m));
}
