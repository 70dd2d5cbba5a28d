import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import {
  benjaminiHochberg,
  DriftPolicySchema,
  parseDriftPolicy,
  psiBand,
  toMetricPoints,
  WindowDriftSchema,
  windowDrift,
} from './index.js';

const cycle = <T>(values: T[], n: number): T[] =>
  Array.from({ length: n }, (_, i) => values[i % values.length] as T);

describe('Benjamini-Hochberg', () => {
  it('matches the hand-computed step-up adjustment', () => {
    // Sorted: 0.005, 0.01, 0.03, 0.04; p*m/rank = 0.02, 0.02, 0.04, 0.04; running minimum from the top.
    expect(benjaminiHochberg([0.01, 0.04, 0.03, 0.005])).toEqual([0.02, 0.04, 0.04, 0.02]);
    // At q = 0.03 the largest k with p(k) <= k q / m is 2: 0.005 and 0.01 are discoveries, 0.03 is not.
    expect(benjaminiHochberg([0.01, 0.04, 0.03, 0.005]).map((p) => p <= 0.03)).toEqual([
      true,
      false,
      false,
      true,
    ]);
    expect(benjaminiHochberg([0.9, 0.8])).toEqual([0.9, 0.9]);
    expect(benjaminiHochberg([])).toEqual([]);
  });

  it('in a window: a feature significant alone is not drifted once BH adjusts for the others', () => {
    // Small references (<= 1000 rows) of 3 categories: chi-squared per feature.
    const ref = cycle(['a', 'b', 'c'], 300);
    const reference = { f1: ref, f2: ref, f3: ref, f4: ref };
    const current = {
      f1: cycle(['a', 'a', 'b', 'c'], 300), // strongly shifted
      // chi2 = (22^2 + 11^2 + 11^2) / 100 = 7.26, df 2: p = exp(-3.63) = 0.0265, adjusted 0.0265 * 4 / 2 = 0.053.
      f2: [...Array(122).fill('a'), ...Array(89).fill('b'), ...Array(89).fill('c')],
      f3: ref,
      f4: ref,
    };
    const plain = windowDrift(reference, current);
    const bh = windowDrift(reference, current, { bh: { fdr: 0.05 } });
    const p = plain.features.map((f) => f.pValue as number);
    const adjusted = benjaminiHochberg(p);
    bh.features.forEach((f, k) => {
      expect(f.pAdjusted).toBeCloseTo(adjusted[k] as number, 12);
      expect(f.drifted).toBe((adjusted[k] as number) <= 0.05);
      expect(f.threshold).toBe(0.05);
    });
    expect(plain.features[0]?.drifted).toBe(true);
    expect(bh.features[0]?.drifted).toBe(true);
    expect(plain.features[1]?.pValue).toBeCloseTo(Math.exp(-3.63), 6);
    expect(plain.features[1]?.drifted).toBe(true);
    expect(bh.features[1]?.pAdjusted).toBeCloseTo(Math.exp(-3.63) * 2, 6);
    expect(bh.features[1]?.drifted).toBe(false);
    expect([plain.drifted, bh.drifted]).toEqual([2, 1]);
  });
});

describe('windowDrift', () => {
  const ref = cycle(
    [
      1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.25, 10.75, 11.5, 12.5, 13.5, 14.5, 15.5, 16.5, 17.5, 18.5,
      19.5, 20.5, 21.5, 22.5,
    ],
    2000,
  );

  it('names features absent from the reference or from the window, and counts only tested ones', () => {
    const w = windowDrift({ x: ref, gone: ref }, { x: ref.slice(0, 500), extra: [1, 2, 3] });
    const byName = Object.fromEntries(w.features.map((f) => [f.feature, f]));
    expect(byName.extra).toMatchObject({
      status: 'insufficient_data',
      reason: 'absent_from_reference',
      drifted: false,
    });
    expect(byName.gone).toMatchObject({
      status: 'insufficient_data',
      reason: 'absent_from_current',
      drifted: false,
    });
    expect(byName.x?.status).toBe('ok');
    expect(w).toMatchObject({ tested: 1, drifted: 0, driftShare: 0, status: 'ok', drift: false });
    // The reply schema accepts what the engine answers (a route can declare it).
    expect(WindowDriftSchema.parse(w)).toEqual(w);
  });

  it('features are named by the window, whatever the profile column is called', () => {
    const profile = {
      name: 'age_years',
      type: 'string' as const,
      count: 100,
      nulls: 0,
      distinct: 2,
      hll: '',
      topK: [
        { value: 'young', count: 50 },
        { value: 'old', count: 50 },
      ],
      topKComplete: true,
    };
    const w = windowDrift({ age: profile }, { age: cycle(['young', 'old'], 100) });
    expect(w.features.map((f) => [f.feature, f.status, f.test])).toEqual([['age', 'ok', 'z_test']]);
  });

  it('a window too small everywhere is insufficient_data, with a null share', () => {
    const w = windowDrift({ x: ref }, { x: [1, 2] });
    expect(w).toMatchObject({ tested: 0, driftShare: null, status: 'insufficient_data', drift: false });
  });

  it('per-feature overrides of test and threshold; tests and thresholds by kind and test', () => {
    const cur = ref.map((x) => x + 0.3);
    const w = windowDrift(
      { x: ref, y: ref },
      { x: cur, y: cur },
      { features: { x: { test: 'psi', threshold: 5 } }, thresholds: { wasserstein: 0.01 } },
    );
    const [x, y] = w.features;
    expect(x).toMatchObject({ test: 'psi', threshold: 5, drifted: false });
    expect(y).toMatchObject({ test: 'wasserstein', threshold: 0.01, drifted: true });
    expect(w.driftShare).toBe(0.5);
    expect(w.drift).toBe(true);
    const ks = windowDrift({ x: ref }, { x: cur }, { tests: { numeric: 'ks' }, minRows: 10 });
    expect(ks.features[0]?.test).toBe('ks');
  });

  it('maps to MetricPoints: per feature test and psi, share; insufficient data has no value', () => {
    const w = windowDrift({ x: ref, z: ref }, { x: ref.slice(0, 100), z: [1] });
    const points = toMetricPoints(
      { drift: w },
      {
        monitorId: 'm',
        runId: 'r',
        deploymentId: 'd',
        modelVersionId: 'v',
        windowStart: 0,
        windowEnd: 10,
        comparison: 'skew',
      },
    );
    expect(points.map((p) => `${p.metric}:${p.feature}:${p.status}`)).toEqual([
      'skew.wasserstein:x:ok',
      'skew.psi:x:ok',
      'skew.wasserstein:z:insufficient_data',
      'skew.psi:z:insufficient_data',
      'skew.share:null:ok',
    ]);
    expect(points[2]?.value).toBeNull();
    expect(points[2]?.details.reason).toBe('too_few_rows');
  });
});

describe('DriftPolicySchema', () => {
  it('fills defaults', () => {
    expect(parseDriftPolicy({})).toEqual({
      tests: {},
      thresholds: {},
      features: {},
      bh: false,
      minRows: 30,
      driftShare: 0.5,
    });
  });

  it.each([
    [{ fdr: 0.1 }, 'policy'],
    [{ features: { age: { test: 'ks', threshold: 1.5 } } }, 'features.age.threshold'],
    [{ features: { age: { test: 'ks', alpha: 0.1 } } }, 'features.age'],
    [{ thresholds: { jensen_shannon: 2 } }, 'thresholds.jensen_shannon'],
    [{ thresholds: { psi: -1 } }, 'thresholds.psi'],
    [{ bh: { fdr: 1.2 } }, 'bh.fdr'],
    [{ minRows: 0 }, 'minRows'],
    [{ tests: { categorical: 'ks' } }, 'tests.categorical'],
  ])('rejects %j naming %s', (input, field) => {
    expect(DriftPolicySchema.safeParse(input).success).toBe(false);
    try {
      parseDriftPolicy(input);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).message).toContain(field === 'policy' ? 'fdr' : field);
    }
  });

  it('psiBand boundaries', () => {
    expect([0, 0.0999, 0.1, 0.25, 0.2501].map(psiBand)).toEqual([
      'none',
      'none',
      'moderate',
      'moderate',
      'significant',
    ]);
  });
});
