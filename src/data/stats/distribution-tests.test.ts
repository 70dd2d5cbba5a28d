import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import {
  chiSquaredTest,
  jensenShannonDistance,
  kolmogorovSurvival,
  ksFromSketches,
  ksPValue,
  ksTest,
  psi,
  wasserstein,
  wassersteinFromSketches,
  zTestProportions,
} from './distribution-tests.js';

function normal(rand: () => number, mean: number, sd: number, n: number): number[] {
  return Array.from({ length: n }, () => {
    const u = Math.max(rand(), 1e-12);
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  });
}

function sketchOf(xs: number[]): number[] {
  const s = [...xs].sort((a, b) => a - b);
  return Array.from({ length: 101 }, (_, k) => {
    const pos = (k / 100) * (s.length - 1);
    const i = Math.floor(pos);
    return (s[i] as number) + ((s[Math.min(i + 1, s.length - 1)] as number) - (s[i] as number)) * (pos - i);
  });
}

describe('distribution tests (hand-computed cases)', () => {
  it('PSI of 50/50 against 25/75 is 0.2747', () => {
    // (0.25-0.5)ln(0.25/0.5) + (0.75-0.5)ln(0.75/0.5)
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.274653, 5);
    expect(psi([10, 20, 30], [10, 20, 30])).toBe(0);
  });

  it('PSI replaces an empty bin by 1e-4 instead of dividing by zero', () => {
    const v = psi([100, 0], [50, 50]);
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeGreaterThan(2);
  });

  it('Jensen-Shannon distance of 75/25 against 25/75 is 0.3617 (natural log)', () => {
    expect(jensenShannonDistance([3, 1], [1, 3])).toBeCloseTo(0.36168, 4);
    expect(jensenShannonDistance([5, 5], [1, 1])).toBeCloseTo(0, 10);
    // Disjoint supports approach the maximum sqrt(ln 2).
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(Math.sqrt(Math.LN2), 2);
  });

  it('KS of [1,2,3,4] against [3,4,5,6] has D = 0.5, the exact p-value of scipy, and the asymptotic one', () => {
    const r = ksTest([1, 2, 3, 4], [3, 4, 5, 6]);
    expect(r.statistic).toBe(0.5);
    // scipy.stats.ks_2samp: exact for small samples, 1 - (paths inside) / C(8, 4) = 0.771428...
    expect(r.pValue).toBeCloseTo(0.7714285714285716, 12);
    // lambda = (sqrt(2) + 0.12 + 0.11/sqrt(2)) * 0.5; Q(lambda) = 2 sum (-1)^(j-1) exp(-2 j^2 lambda^2)
    const lambda = (Math.SQRT2 + 0.12 + 0.11 / Math.SQRT2) * 0.5;
    const q = 2 * (Math.exp(-2 * lambda ** 2) - Math.exp(-8 * lambda ** 2) + Math.exp(-18 * lambda ** 2));
    expect(ksPValue(0.5, 4, 4)).toBeCloseTo(q, 4);
    expect(ksPValue(0.5, 4, 4)).toBeCloseTo(0.534, 2);
  });

  it('the Kolmogorov survival function is 1 at 0 and about 0.27 at 1', () => {
    expect(kolmogorovSurvival(0)).toBe(1);
    expect(kolmogorovSurvival(1)).toBeCloseTo(0.27, 2);
    expect(kolmogorovSurvival(1.36)).toBeCloseTo(0.049, 2);
  });

  it('chi-squared of 30/70 against 50/50 is 16 with p = 6.3e-5', () => {
    const r = chiSquaredTest([50, 50], [30, 70]);
    expect(r.statistic).toBeCloseTo(16, 10);
    expect(r.pValue).toBeCloseTo(6.334e-5, 7);
    expect(chiSquaredTest([50, 50], [50, 50]).pValue).toBeCloseTo(1, 10);
  });

  it('Z-test on proportions: 0.5 vs 0.3 with n = 100 each gives z = 2.887', () => {
    // pooled p = 0.4; se = sqrt(0.4 * 0.6 * (2/100)) = 0.069282; z = 0.2 / se
    const r = zTestProportions([50, 50], [30, 70]);
    expect(r.statistic).toBeCloseTo(2.88675, 4);
    expect(r.pValue).toBeCloseTo(0.003892, 4);
  });

  it('Wasserstein is the area between the CDFs', () => {
    expect(wasserstein([0, 1], [1, 2])).toBeCloseTo(1, 12);
    expect(wasserstein([0, 0, 1], [0, 1, 1])).toBeCloseTo(1 / 3, 12);
  });

  it('sketch-based KS and Wasserstein approximate the raw ones', () => {
    const rand = seededRandom(7);
    const a = normal(rand, 0, 1, 5000);
    const b = normal(rand, 0.3, 1, 5000);
    const raw = ksTest(a, b);
    const approx = ksFromSketches(sketchOf(a), a.length, sketchOf(b), b.length);
    expect(Math.abs(approx.statistic - raw.statistic)).toBeLessThan(0.015);
    expect(raw.statistic).toBeGreaterThan(0.08);
    expect(Math.abs(wassersteinFromSketches(sketchOf(a), sketchOf(b)) - wasserstein(a, b))).toBeLessThan(
      0.02,
    );
    const same = ksFromSketches(sketchOf(a), a.length, sketchOf(normal(rand, 0, 1, 5000)), 5000);
    expect(same.pValue).toBeGreaterThan(0.05);
  });
});
