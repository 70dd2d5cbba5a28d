import { describe, expect, it } from 'vitest';
import { LabelTypeError } from '../binary-inputs.js';
import { MetricPointSchema } from '../metric-point.schema.js';
import { fairnessToMetricPoints, postTrainingBias, preTrainingBias, SingleGroupError } from './index.js';

/** Rows of one group with the given confusion counts (label, prediction): TP (1,1), FP (0,1), FN (1,0), TN (0,0). */
function rowsOf(value: string, c: { tp: number; fp: number; fn: number; tn: number }) {
  const rows: { facet: string; label: number; prediction: number }[] = [];
  const add = (n: number, label: number, prediction: number) => {
    for (let i = 0; i < n; i++) rows.push({ facet: value, label, prediction });
  };
  add(c.tp, 1, 1);
  add(c.fp, 0, 1);
  add(c.fn, 1, 0);
  add(c.tn, 0, 0);
  return rows;
}

function table(...groups: ReturnType<typeof rowsOf>[]) {
  const rows = groups.flat();
  return {
    attribute: 'sex',
    facet: rows.map((r) => r.facet),
    labels: rows.map((r) => r.label),
    predictions: rows.map((r) => r.prediction),
  };
}

/*
 * The small table, by hand. d = female (10 rows): TP 3, FP 1, FN 2, TN 4.  a = male (12 rows): TP 5, FP 2, FN 1, TN 4.
 *   predicted positives n^_d(1) = 3 + 1 = 4, n^_a(1) = 5 + 2 = 7; predicted negatives n^_d(0) = 6, n^_a(0) = 5
 *   label positives n_d(1) = 3 + 2 = 5, n_a(1) = 5 + 1 = 6; label negatives n_d(0) = 5, n_a(0) = 6
 *   DPPL = q^_a - q^_d = 7/12 - 4/10 = 35/60 - 24/60 = 11/60
 *   DI   = q^_d / q^_a = (4/10) / (7/12) = 48/70 = 24/35 = 0.6857 < 0.8  -> four-fifths flag
 *   DCA  = c_a - c_d, c = n(1)/n^(1): 6/7 - 5/4 = 24/28 - 35/28 = -11/28
 *   DCR  = r_d - r_a, r = n(0)/n^(0): 5/6 - 6/5 = 25/30 - 36/30 = -11/30
 *   RD   = TPR_a - TPR_d = 5/6 - 3/5 = 25/30 - 18/30 = 7/30
 *   SD   = TNR_d - TNR_a = 4/5 - 4/6 = 24/30 - 20/30 = 2/15
 *   DAR  = precision_a - precision_d = 5/7 - 3/4 = 20/28 - 21/28 = -1/28
 *   DRR  = NPV_d - NPV_a = 4/6 - 4/5 = 20/30 - 24/30 = -2/15
 *   AD   = accuracy_a - accuracy_d = 9/12 - 7/10 = 0.75 - 0.70 = 1/20
 *   TE   = FN_d/FP_d - FN_a/FP_a = 2/1 - 1/2 = 3/2
 *   CI   = (n_a - n_d)/(n_a + n_d) = (12 - 10)/22 = 1/11
 *   DPL  = q_a - q_d = 6/12 - 5/10 = 0
 * With male as d, every difference flips sign, DI = (7/12)/(4/10) = 70/48 = 35/24, CI = -1/11.
 */
const female = { tp: 3, fp: 1, fn: 2, tn: 4 };
const male = { tp: 5, fp: 2, fn: 1, tn: 4 };

describe('fairness (SageMaker Clarify definitions)', () => {
  it('post-training metrics equal the hand-computed values, per facet value vs the rest', () => {
    const report = postTrainingBias({
      ...table(rowsOf('female', female), rowsOf('male', male)),
      minGroupSize: 5,
    });
    expect(report).toMatchObject({ kind: 'post_training', attribute: 'sex', rows: 22, excludedRows: 0 });
    const f = report.groups.find((g) => g.value === 'female')!;
    expect(f).toMatchObject({ slice: 'sex=female', size: 10, restSize: 12 });
    const expected = {
      DPPL: 11 / 60,
      DI: 24 / 35,
      DCA: -11 / 28,
      DCR: -11 / 30,
      RD: 7 / 30,
      SD: 2 / 15,
      DAR: -1 / 28,
      DRR: -2 / 15,
      AD: 1 / 20,
      TE: 3 / 2,
    };
    for (const [m, v] of Object.entries(expected)) {
      expect(f.metrics[m as keyof typeof expected].value, m).toBeCloseTo(v, 12);
      expect(f.metrics[m as keyof typeof expected].status, m).toBe('ok');
    }
    expect(f.metrics.DI.fourFifths).toBe(true);

    const m = report.groups.find((g) => g.value === 'male')!;
    expect(m.metrics.DI.value).toBeCloseTo(35 / 24, 12);
    expect(m.metrics.DI.fourFifths).toBe(false);
    expect(m.metrics.DPPL.value).toBeCloseTo(-11 / 60, 12);
    expect(m.metrics.TE.value).toBeCloseTo(-3 / 2, 12);
  });

  it('pre-training CI and DPL equal the hand-computed values, with string labels and a positive label', () => {
    const t = table(rowsOf('female', female), rowsOf('male', male));
    const labels = t.labels.map((y) => (y === 1 ? 'approved' : 'rejected'));
    const report = preTrainingBias({
      attribute: 'sex',
      facet: t.facet,
      labels,
      positiveLabel: 'approved',
      minGroupSize: 5,
    });
    const f = report.groups.find((g) => g.value === 'female')!;
    expect(f.metrics.CI.value).toBeCloseTo(1 / 11, 12);
    expect(f.metrics.DPL.value).toBe(0);
    expect(report.groups.find((g) => g.value === 'male')!.metrics.CI.value).toBeCloseTo(-1 / 11, 12);
    expect(f.facet).toEqual({ n: 10, positives: 5 });
  });

  it('a group below the minimum size gets insufficient_data with the reason; missing facet values are counted apart', () => {
    // Third group "x": 3 rows. The rest of "female" is male + x = 15 rows.
    const t = table(
      rowsOf('female', female),
      rowsOf('male', male),
      rowsOf('x', { tp: 1, fp: 1, fn: 0, tn: 1 }),
    );
    t.facet.push(null as unknown as string);
    t.labels.push(1);
    t.predictions.push(1);
    const report = postTrainingBias({ ...t, minGroupSize: 5 });
    expect(report.excludedRows).toBe(1);
    const x = report.groups.find((g) => g.value === 'x')!;
    expect(x.size).toBe(3);
    expect(x.metrics.DI).toEqual({
      value: null,
      status: 'insufficient_data',
      reason: 'group_too_small: n_d = 3, n_a = 22, minimum 5',
    });
    const f = report.groups.find((g) => g.value === 'female')!;
    expect(f.restSize).toBe(15);
    // q^_a over male + x = (7 + 2)/15 = 3/5, so DPPL = 3/5 - 2/5 = 1/5 and DI = (2/5)/(3/5) = 2/3.
    expect(f.metrics.DPPL.value).toBeCloseTo(1 / 5, 12);
    expect(f.metrics.DI.value).toBeCloseTo(2 / 3, 12);
    // The default minimum (30) makes every group of this small table insufficient.
    const strict = postTrainingBias(t);
    expect(strict.minGroupSize).toBe(30);
    expect(
      strict.groups.every((g) => Object.values(g.metrics).every((v) => v.status === 'insufficient_data')),
    ).toBe(true);
  });

  it('names every division by zero instead of returning NaN or infinity', () => {
    // d = young: no predicted positives and no false positives; a = old: no false positives either.
    const report = postTrainingBias({
      ...table(
        rowsOf('young', { tp: 0, fp: 0, fn: 3, tn: 3 }),
        rowsOf('old', { tp: 4, fp: 0, fn: 1, tn: 1 }),
      ),
      attribute: 'age_band',
      minGroupSize: 1,
    });
    const y = report.groups.find((g) => g.value === 'young')!;
    expect(y.metrics.DI).toEqual({ value: 0, status: 'ok', fourFifths: true }); // q^_d = 0, q^_a = 4/6
    expect(y.metrics.DCA).toEqual({
      value: null,
      status: 'undefined',
      reason: 'division_by_zero: n^_d(1) = 0',
    });
    expect(y.metrics.DAR).toEqual({
      value: null,
      status: 'undefined',
      reason: 'division_by_zero: n^_d(1) = 0',
    });
    expect(y.metrics.TE).toEqual({ value: null, status: 'undefined', reason: 'division_by_zero: FP_d = 0' });
    const o = report.groups.find((g) => g.value === 'old')!;
    expect(o.metrics.DI.status).toBe('undefined'); // the rest (young) has no predicted positives
    expect(o.metrics.DI.reason).toMatch(/division_by_zero: q\^_a/);
    for (const g of report.groups) {
      for (const v of Object.values(g.metrics))
        expect(v.value === null || Number.isFinite(v.value)).toBe(true);
    }
  });

  it('a protected attribute with one group is a named error', () => {
    const t = table(rowsOf('female', female));
    expect(() => postTrainingBias(t)).toThrow(SingleGroupError);
    expect(() => preTrainingBias({ attribute: 'sex', facet: [null, null], labels: [0, 1] })).toThrow(
      SingleGroupError,
    );
    try {
      postTrainingBias(t);
    } catch (err) {
      expect(err).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: 'facet', reason: 'single_group' },
      });
    }
  });

  it('labels or predictions of the wrong type are a named error naming the row', () => {
    const t = table(rowsOf('female', female), rowsOf('male', male));
    const labels: unknown[] = [...t.labels];
    labels[4] = 'yes';
    expect(() => postTrainingBias({ ...t, labels })).toThrow(LabelTypeError);
    expect(() => postTrainingBias({ ...t, labels })).toThrow(/labels\[4\]/);
    const predictions: unknown[] = [...t.predictions];
    predictions[7] = 0.73;
    expect(() => postTrainingBias({ ...t, predictions })).toThrow(/predictions\[7\]/);
    expect(() => preTrainingBias({ ...t, labels: [...t.labels, null] })).toThrow(/labels: has 23 rows/);
    expect(() => preTrainingBias({ ...t, labels: t.labels.map(() => null), positiveLabel: 'a' })).toThrow(
      LabelTypeError,
    );
  });

  it('maps to fairness.<metric> points per slice: alert under four-fifths, insufficient_data with the reason', () => {
    const ctx = {
      monitorId: 'mon_1',
      runId: 'run_1',
      deploymentId: 'dep_1',
      modelVersionId: 'mv_1',
      windowStart: 0,
      windowEnd: 1,
    };
    const points = fairnessToMetricPoints(
      ctx,
      postTrainingBias({ ...table(rowsOf('female', female), rowsOf('male', male)), minGroupSize: 11 }),
    );
    expect(points).toHaveLength(20);
    for (const p of points) MetricPointSchema.parse(p);
    // female (10 rows) is below 11: insufficient; male has 12 but its rest (female) has 10: insufficient too.
    expect(points.every((p) => p.status === 'insufficient_data' && p.value === null)).toBe(true);
    const ok = fairnessToMetricPoints(
      ctx,
      postTrainingBias({ ...table(rowsOf('female', female), rowsOf('male', male)), minGroupSize: 5 }),
    );
    const di = ok.find((p) => p.metric === 'fairness.di' && p.slice === 'sex=female')!;
    expect(di).toMatchObject({ status: 'alert', details: { fourFifths: true, size: 10, restSize: 12 } });
    expect(di.value).toBeCloseTo(24 / 35, 12);
    expect(ok.find((p) => p.metric === 'fairness.dppl' && p.slice === 'sex=male')!.status).toBe('ok');
  });
});
