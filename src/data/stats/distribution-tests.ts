import type jStatTypes from 'jstat';
import { lazyRequire } from '../../core/lazy-require.js';
import { sketchCdf, sketchQuantile } from '../tables/index.js';
import { ksTwoSamplePValue } from './ks-two-sample.js';
import { ksStatisticSorted, sortFloat64, wassersteinSorted } from './sorted-samples.js';

const jStat = lazyRequire<typeof jStatTypes>('jstat');

/** Replaces an empty bin's share (Evidently's convention) so log ratios stay finite. */
export const EMPTY_BIN_SHARE = 1e-4;

export interface TestOutcome {
  statistic: number;
  pValue?: number;
}

/** P(K > x) for the Kolmogorov distribution (series of Numerical Recipes' probks). */
export function kolmogorovSurvival(x: number): number {
  if (x <= 0) return 1;
  let sum = 0;
  let prev = 0;
  for (let j = 1; j <= 100; j++) {
    const term = 2 * (j % 2 === 1 ? 1 : -1) * Math.exp(-2 * j * j * x * x);
    sum += term;
    if (Math.abs(term) <= 1e-10 * Math.abs(prev) || Math.abs(term) < 1e-300) return clamp01(sum);
    prev = term;
  }
  // The series did not converge: x is tiny and the statistic carries no evidence.
  return 1;
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/** Asymptotic p-value of a two-sample KS statistic d for sample sizes n and m (Stephens' correction). */
export function ksPValue(d: number, n: number, m: number): number {
  const en = Math.sqrt((n * m) / (n + m));
  return kolmogorovSurvival((en + 0.12 + 0.11 / en) * d);
}

/** Two-sample Kolmogorov-Smirnov on raw values: D = sup |F_ref - F_cur|. */
export function ksTest(reference: readonly number[], current: readonly number[]): TestOutcome {
  const a = sortFloat64(Float64Array.from(reference));
  const b = sortFloat64(Float64Array.from(current));
  const d = ksStatisticSorted(a, b);
  return { statistic: d, pValue: ksTwoSamplePValue(d, a.length, b.length) };
}

/**
 * KS from two quantile sketches (no raw data): D is the largest CDF gap at any sketch point. The
 * sketches resolve 1% of probability, so D is approximate to about +-0.01.
 */
export function ksFromSketches(
  reference: readonly number[],
  nRef: number,
  current: readonly number[],
  nCur: number,
): TestOutcome {
  let d = 0;
  for (const x of [...reference, ...current]) {
    d = Math.max(d, Math.abs(sketchCdf(reference, x) - sketchCdf(current, x)));
  }
  return { statistic: d, pValue: ksPValue(d, nRef, nCur) };
}

/**
 * Pearson's chi-squared of the current counts against the reference proportions (as scipy's
 * chisquare(f_obs=current, f_exp=reference share * current total)), df = categories - 1.
 */
export function chiSquaredTest(reference: readonly number[], current: readonly number[]): TestOutcome {
  const refTotal = sum(reference);
  const curTotal = sum(current);
  let stat = 0;
  reference.forEach((r, k) => {
    const expected = Math.max(r / refTotal, EMPTY_BIN_SHARE) * curTotal;
    const observed = current[k] ?? 0;
    stat += ((observed - expected) * (observed - expected)) / expected;
  });
  const df = Math.max(1, reference.length - 1);
  return { statistic: stat, pValue: 1 - jStat().chisquare.cdf(stat, df) };
}

/** Two-proportion Z-test on the first category's share (binary columns), two-sided. */
export function zTestProportions(reference: readonly number[], current: readonly number[]): TestOutcome {
  const n1 = sum(reference);
  const n2 = sum(current);
  const p1 = (reference[0] ?? 0) / n1;
  const p2 = (current[0] ?? 0) / n2;
  const p = ((reference[0] ?? 0) + (current[0] ?? 0)) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  if (se === 0) return { statistic: 0, pValue: p1 === p2 ? 1 : 0 };
  const z = (p1 - p2) / se;
  return { statistic: z, pValue: 2 * (1 - jStat().normal.cdf(Math.abs(z), 0, 1)) };
}

/** Shares of each bin, empty bins replaced by EMPTY_BIN_SHARE. */
export function shares(counts: readonly number[]): number[] {
  const total = sum(counts);
  return counts.map((c) => (total > 0 && c > 0 ? c / total : EMPTY_BIN_SHARE));
}

/** Population Stability Index: sum (cur - ref) * ln(cur / ref) over bins. */
export function psi(reference: readonly number[], current: readonly number[]): number {
  const r = shares(reference);
  const c = shares(current);
  return r.reduce((acc, rk, k) => {
    const ck = c[k] as number;
    return acc + (ck - rk) * Math.log(ck / rk);
  }, 0);
}

/** Jensen-Shannon distance (square root of the divergence, natural log, as scipy's jensenshannon). */
export function jensenShannonDistance(reference: readonly number[], current: readonly number[]): number {
  const p = normalise(shares(reference));
  const q = normalise(shares(current));
  let js = 0;
  p.forEach((pk, k) => {
    const qk = q[k] as number;
    const mk = (pk + qk) / 2;
    if (pk > 0) js += 0.5 * pk * Math.log(pk / mk);
    if (qk > 0) js += 0.5 * qk * Math.log(qk / mk);
  });
  return Math.sqrt(Math.max(0, js));
}

/** First Wasserstein distance between two raw samples: the area between their CDFs. */
export function wasserstein(reference: readonly number[], current: readonly number[]): number {
  return wassersteinSorted(
    sortFloat64(Float64Array.from(reference)),
    sortFloat64(Float64Array.from(current)),
  );
}

/** Wasserstein from two quantile sketches: the mean gap between their quantile functions. */
export function wassersteinFromSketches(reference: readonly number[], current: readonly number[]): number {
  const steps = 1000;
  let area = 0;
  for (let k = 0; k < steps; k++) {
    const p = (k + 0.5) / steps;
    area += Math.abs(sketchQuantile(reference, p) - sketchQuantile(current, p));
  }
  return area / steps;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function normalise(xs: number[]): number[] {
  const t = sum(xs);
  return xs.map((x) => x / t);
}
