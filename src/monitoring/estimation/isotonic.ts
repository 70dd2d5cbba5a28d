import { calibrationTable } from '../../ml/index.js';

/*
 * Isotonic calibration of P(y = 1 | score) by pool-adjacent-violators, stored as knots so the fitted
 * map is JSON and survives a monitor's restart. Between knots the map is linear and outside them it
 * is flat, as scikit-learn's IsotonicRegression(out_of_bounds='clip') predicts.
 */

/** A monotone map from raw score to calibrated probability: x ascending, y non-decreasing. */
export interface IsotonicMap {
  x: number[];
  y: number[];
}

/** Fits label on score by pool-adjacent-violators (equal weights; tied scores pooled first). */
export function fitIsotonic(scores: ArrayLike<number>, labels: ArrayLike<number>): IsotonicMap {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  // Blocks of the stack: [xMin, xMax, sum of labels, weight]. Ties start as one block, since rows with
  // the same score must get the same probability.
  const lo: number[] = [];
  const hi: number[] = [];
  const sum: number[] = [];
  const w: number[] = [];
  for (let k = 0; k < order.length; ) {
    const x = scores[order[k]!]!;
    let s = 0;
    let n = 0;
    while (k < order.length && scores[order[k]!] === x) {
      s += labels[order[k]!]!;
      n++;
      k++;
    }
    lo.push(x);
    hi.push(x);
    sum.push(s);
    w.push(n);
    // Pool while the previous block's mean is above this one's (a violation of monotonicity).
    while (sum.length > 1) {
      const j = sum.length - 1;
      if (sum[j - 1]! / w[j - 1]! <= sum[j]! / w[j]!) break;
      sum[j - 1]! += sum[j]!;
      w[j - 1]! += w[j]!;
      hi[j - 1] = hi[j]!;
      lo.pop();
      hi.pop();
      sum.pop();
      w.pop();
    }
  }
  const map: IsotonicMap = { x: [], y: [] };
  for (let b = 0; b < sum.length; b++) {
    const y = sum[b]! / w[b]!;
    map.x.push(lo[b]!);
    map.y.push(y);
    if (hi[b]! > lo[b]!) {
      map.x.push(hi[b]!);
      map.y.push(y);
    }
  }
  return map;
}

/** Applies an isotonic map: linear between knots, clipped to the end values outside them. */
export function applyIsotonic(map: IsotonicMap, score: number): number {
  const { x, y } = map;
  const n = x.length;
  if (n === 0) return score;
  if (score <= x[0]!) return y[0]!;
  if (score >= x[n - 1]!) return y[n - 1]!;
  let a = 0;
  let b = n - 1;
  while (b - a > 1) {
    const m = (a + b) >> 1;
    if (x[m]! <= score) a = m;
    else b = m;
  }
  const t = (score - x[a]!) / (x[b]! - x[a]!);
  return y[a]! + t * (y[b]! - y[a]!);
}

/**
 * Expected calibration error over ten equal-width bins: sum over bins of (rows in bin / rows) x
 * |mean score - share of positives|, the reliability curve's weighted gap.
 */
export function expectedCalibrationError(labels: ArrayLike<number>, probs: ArrayLike<number>): number {
  const n = labels.length;
  let ece = 0;
  for (const bin of calibrationTable(labels, probs)) {
    if (bin.count > 0) ece += (bin.count / n) * Math.abs(bin.meanPredicted - bin.fractionPositive);
  }
  return ece;
}
