import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import { seededRandom } from '../../core/random.js';
import type { ColumnProfile } from '../../data/tables/index.js';
import { featureDrift, prepareReference } from './index.js';

function normals(n: number, mean: number, sd: number, seed: number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const u = Math.max(r(), 1e-12);
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  });
}
function sketchOf(values: number[]): number[] {
  const s = Float64Array.from(values).sort();
  return Array.from({ length: 101 }, (_, k) => {
    const h = (s.length - 1) * (k / 100);
    const lo = Math.floor(h);
    return (s[lo] as number) + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] as number) - (s[lo] as number));
  });
}
function profileOf(name: string, values: number[]): ColumnProfile {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const m2 = values.reduce((a, x) => a + (x - mean) ** 2, 0);
  return {
    name,
    type: 'float',
    count: values.length,
    nulls: 0,
    distinct: new Set(values).size,
    hll: '',
    min: Math.min(...values),
    max: Math.max(...values),
    mean,
    std: Math.sqrt(m2 / (values.length - 1)),
    m2,
    sketch: sketchOf(values),
    topKComplete: false,
  };
}

describe('featureDrift', () => {
  const ref = normals(2000, 0, 1, 1);

  it('a window from the same distribution is not drifted; a shifted one is', () => {
    const same = featureDrift(ref, normals(2000, 0, 1, 2), { feature: 'x' });
    expect(same).toMatchObject({ test: 'wasserstein', status: 'ok', drifted: false, psiBand: 'none' });
    const shifted = featureDrift(ref, normals(2000, 1, 1, 3), { feature: 'x' });
    expect(shifted).toMatchObject({
      test: 'wasserstein',
      status: 'alert',
      drifted: true,
      psiBand: 'significant',
    });
    expect(shifted.distance).toBeGreaterThan(0.8);
  });

  it('small references get KS, as Evidently chooses', () => {
    const r = featureDrift(ref.slice(0, 500), normals(300, 0.5, 1, 4), { feature: 'x' });
    expect(r.test).toBe('ks');
    expect(r.pValue).toBeLessThan(0.05);
    expect(r.drifted).toBe(true);
  });

  it('NaN, Infinity, nulls and strings are left out and counted, never NaN results', () => {
    const cur: (number | string | null)[] = [
      ...normals(100, 0, 1, 5),
      Number.NaN,
      Number.POSITIVE_INFINITY,
      null,
      'x',
    ];
    const r = featureDrift(ref, cur, { feature: 'x', test: 'ks' });
    expect(r.currentRows).toBe(100);
    expect(r.excluded).toEqual({ nulls: 1, nonFinite: 2, wrongType: 1 });
    expect(Number.isFinite(r.statistic)).toBe(true);
    expect(Number.isFinite(r.pValue)).toBe(true);
  });

  it('typed-array windows count NaN and Infinity the same way', () => {
    const cur = Float64Array.from([
      ...normals(100, 0, 1, 5),
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    const r = featureDrift(ref, cur, { feature: 'x', test: 'ks' });
    expect(r.currentRows).toBe(100);
    expect(r.excluded).toEqual({ nulls: 0, nonFinite: 3, wrongType: 0 });
    expect(r.statistic).toBe(
      featureDrift(ref, normals(100, 0, 1, 5), { feature: 'x', test: 'ks' }).statistic,
    );
  });

  it('an all-null window is insufficient_data (all_null), never drifted', () => {
    const r = featureDrift(ref, new Array(500).fill(null), { feature: 'x' });
    expect(r).toMatchObject({
      status: 'insufficient_data',
      reason: 'all_null',
      drifted: false,
      statistic: null,
    });
  });

  it('a window of only NaN/Infinity is insufficient_data (no_valid_values)', () => {
    const r = featureDrift(ref, [Number.NaN, Number.NEGATIVE_INFINITY, Number.NaN], { feature: 'x' });
    expect(r).toMatchObject({ status: 'insufficient_data', reason: 'no_valid_values', drifted: false });
  });

  it('too few rows is insufficient_data even when the rows are far off', () => {
    const r = featureDrift(ref, [100, 200, 300], { feature: 'x' });
    expect(r).toMatchObject({
      status: 'insufficient_data',
      reason: 'too_few_rows',
      drifted: false,
      currentRows: 3,
    });
    const lowered = featureDrift(ref, [100, 200, 300], { feature: 'x', minRows: 3 });
    expect(lowered.status).toBe('alert');
  });

  it('a too small reference is insufficient_data (too_few_reference_rows)', () => {
    const r = featureDrift([1, 2, 3], normals(100, 0, 1, 6), { feature: 'x' });
    expect(r.reason).toBe('too_few_reference_rows');
    expect(r.drifted).toBe(false);
  });

  it('a constant reference gives finite answers and says so', () => {
    const constant = new Array(2000).fill(7);
    const same = featureDrift(constant, new Array(100).fill(7), { feature: 'c' });
    expect(same).toMatchObject({ status: 'ok', drifted: false, reason: 'constant_reference', psi: 0 });
    const moved = featureDrift(constant, new Array(100).fill(8), { feature: 'c' });
    expect(moved.drifted).toBe(true);
    expect(Number.isFinite(moved.statistic)).toBe(true);
    for (const test of ['ks', 'wasserstein', 'psi', 'chi_squared'] as const) {
      const r = featureDrift(constant, new Array(100).fill(8), { feature: 'c', test });
      expect(Number.isFinite(r.statistic), test).toBe(true);
      expect(r.drifted, test).toBe(true);
    }
  });

  it('categories: unseen values drift, chi-squared on a small reference, Jensen-Shannon on a large one', () => {
    const small = Array.from({ length: 300 }, (_, i) => ['a', 'b', 'c'][i % 3] as string);
    const r1 = featureDrift(
      small,
      Array.from({ length: 300 }, (_, i) => (i % 2 ? 'a' : 'd')),
      { feature: 'k' },
    );
    expect(r1).toMatchObject({ kind: 'categorical', test: 'chi_squared', drifted: true });
    const large = Array.from({ length: 3000 }, (_, i) => ['a', 'b', 'c'][i % 3] as string);
    const r2 = featureDrift(
      large,
      Array.from({ length: 300 }, (_, i) => ['a', 'b', 'c'][i % 3] as string),
      {
        feature: 'k',
      },
    );
    expect(r2).toMatchObject({ test: 'jensen_shannon', drifted: false });
    expect(r2.distance).toBeCloseTo(0, 6);
  });

  it('a numeric test on a categorical feature is a ValidationError naming the field', () => {
    expect(() => featureDrift(['a', 'b'], ['a'], { feature: 'k', test: 'ks' })).toThrow(ValidationError);
    expect(() => featureDrift(['a', 'b'], ['a'], { feature: 'k', test: 'ks' })).toThrow(/features\.k\.test/);
  });

  it('from a stored profile: approximate, within the stated error bound of the raw answer', () => {
    const big = normals(20000, 0, 1, 7);
    const cur = normals(5000, 0.2, 1.1, 8);
    for (const test of ['ks', 'wasserstein'] as const) {
      const exact = featureDrift(big, cur, { feature: 'x', test });
      const sketch = featureDrift(profileOf('x', big), cur, { test });
      expect(sketch.approximate).toBe(true);
      expect(exact.approximate).toBe(false);
      expect(sketch.errorBound).toBeGreaterThan(0);
      expect(Math.abs((sketch.statistic as number) - (exact.statistic as number))).toBeLessThanOrEqual(
        sketch.errorBound as number,
      );
    }
  });

  it('PSI bands: none below 0.1, moderate to 0.25, significant above', () => {
    const base = Array.from({ length: 1000 }, (_, i) => (i < 500 ? 'a' : 'b'));
    const window = (shareA: number) =>
      Array.from({ length: 1000 }, (_, i) => (i < shareA * 1000 ? 'a' : 'b'));
    const band = (shareA: number) => featureDrift(base, window(shareA), { feature: 'k', test: 'psi' });
    // PSI of (0.5, 0.5) -> (s, 1 - s) = (s - 0.5) ln(s / 0.5) + (0.5 - s) ln((1 - s) / 0.5).
    expect(band(0.55)).toMatchObject({ psiBand: 'none' });
    expect(band(0.7).psiBand).toBe('moderate');
    expect(band(0.75).psiBand).toBe('significant');
    const s = 0.7;
    expect(band(s).psi).toBeCloseTo((s - 0.5) * Math.log(s / 0.5) + (0.5 - s) * Math.log((1 - s) / 0.5), 10);
  });

  it('a prepared reference answers as the raw one', () => {
    const cur = normals(400, 0.1, 1, 9);
    const prepared = prepareReference(ref, 'x');
    expect(featureDrift(prepared, cur)).toEqual(featureDrift(ref, cur, { feature: 'x' }));
  });

  it('time columns of a profile are not drift-tested (unsupported_type)', () => {
    const p: ColumnProfile = { name: 't', type: 'timestamp', count: 100, nulls: 0, distinct: 100, hll: '' };
    expect(featureDrift(p, [1, 2, 3])).toMatchObject({
      status: 'insufficient_data',
      reason: 'unsupported_type',
    });
  });
});
