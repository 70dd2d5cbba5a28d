import { describe, expect, it } from 'vitest';
import { MetricPointSchema } from '../metric-point.schema.js';
import { fairnessToMetricPoints, flipTest, SingleGroupError } from './index.js';

describe('flip test (Clarify FT)', () => {
  it('equals the hand-computed value with k = 1 (the rest has at most 9 rows), for each facet value', () => {
    /*
     * One feature. male (a for female): x 0, 1, 2 predicted 0; x 10, 11, 12 predicted 1 (6 rows, so k = 1).
     * female: x 0.4 predicted 1, nearest male 0 says 0          -> flips 1 -> 0 (favoured)
     *         x 10.6 predicted 0, nearest male 11 says 1         -> flips 0 -> 1
     *         x 1.2 predicted 1, nearest male 1 says 0           -> flips 1 -> 0
     *         x 11.9 predicted 1, nearest male 12 says 1         -> no flip
     *   FT_female = (2 - 1) / 4 = 1/4
     * male against female (4 rows, k = 1): 0 -> 0.4 says 1 (0 -> 1), 1 -> 1.2 says 1 (0 -> 1), 2 -> 1.2 says 1
     *   (0 -> 1), 10 -> 10.6 says 0 (1 -> 0), 11 -> 10.6 says 0 (1 -> 0), 12 -> 11.9 says 1 (none)
     *   FT_male = (2 - 3) / 6 = -1/6
     */
    const x = [0, 1, 2, 10, 11, 12, 0.4, 10.6, 1.2, 11.9];
    const report = flipTest({
      attribute: 'sex',
      facet: ['m', 'm', 'm', 'm', 'm', 'm', 'f', 'f', 'f', 'f'],
      features: x.map((v) => [v]),
      predictions: [0, 0, 0, 1, 1, 1, 1, 0, 1, 1],
      minGroupSize: 1,
    });
    const f = report.groups.find((g) => g.value === 'f')!;
    expect(f).toMatchObject({
      slice: 'sex=f',
      size: 4,
      restSize: 6,
      k: 1,
      flipsToNegative: 2,
      flipsToPositive: 1,
    });
    expect(f.metrics.FT.value).toBeCloseTo(1 / 4, 12);
    const m = report.groups.find((g) => g.value === 'm')!;
    expect(m).toMatchObject({ k: 1, flipsToNegative: 2, flipsToPositive: 3 });
    expect(m.metrics.FT.value).toBeCloseTo(-1 / 6, 12);
    const points = fairnessToMetricPoints(
      { monitorId: 'm', runId: 'r', deploymentId: 'd', modelVersionId: 'v', windowStart: 0, windowEnd: 1 },
      report,
    );
    expect(points.map((p) => [p.metric, p.slice])).toEqual([
      ['fairness.ft', 'sex=m'],
      ['fairness.ft', 'sex=f'],
    ]);
    for (const p of points) MetricPointSchema.parse(p);
  });

  it('uses five neighbours when the rest has more than 9 rows', () => {
    // Rest: x = 0..9, predicted 1 for x in {0, 1, 3}. d: one row x = 2.2 predicted 0. The five nearest
    // are 2, 3, 1, 4, 0 with predictions 0, 1, 1, 0, 1: majority 1, so the row flips 0 -> 1; FT = (0 - 1) / 1.
    // (With k = 1 the nearest, x = 2, says 0 and nothing would flip.)
    const report = flipTest({
      attribute: 'group',
      facet: [...Array.from({ length: 10 }, () => 'a'), 'd'],
      features: [...Array.from({ length: 10 }, (_, i) => [i]), [2.2]],
      predictions: [1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
      minGroupSize: 1,
    });
    const d = report.groups.find((g) => g.value === 'd')!;
    expect(d).toMatchObject({ k: 5, flipsToPositive: 1, flipsToNegative: 0 });
    expect(d.metrics.FT.value).toBe(-1);
  });

  it('answers insufficient data below the minimum group size and refuses non-numeric features or one group', () => {
    const base = {
      attribute: 'sex',
      facet: ['m', 'f', 'm'],
      features: [[1], [2], [3]],
      predictions: [0, 1, 1],
    };
    const small = flipTest(base);
    expect(small.groups[0]!.metrics.FT).toMatchObject({ value: null, status: 'insufficient_data' });
    expect(() => flipTest({ ...base, features: [[1], [Number.NaN], [3]] })).toThrow(/features\[1\]\[0\]/);
    expect(() => flipTest({ ...base, features: [[1], [2, 3], [3]] })).toThrow(/features\[1\]/);
    expect(() => flipTest({ ...base, facet: ['m', 'm', 'm'] })).toThrow(SingleGroupError);
  });
});
