import { describe, expect, it } from 'vitest';
import { defaultProbability, generateCreditData } from '../../ml/index.js';
import { MetricPointSchema } from '../metric-point.schema.js';
import {
  CBPE_METRICS,
  cbpeToMetricPoints,
  compareCbpe,
  estimateCbpe,
  fitCbpe,
  OneClassReferenceError,
  parseCbpeModel,
  realisedCbpeMetrics,
} from './index.js';
import { applyIsotonic, fitIsotonic } from './isotonic.js';

// The generator's own risk model is the "deployed model": with labelNoise 0 its scores are exactly
// P(y | x), i.e. calibrated, and covariateDrift moves P(x) while leaving P(y | x) alone (CBPE's case).
function window(rows: number, seed: number, knobs: { covariateDrift?: number; conceptDrift?: number } = {}) {
  const data = generateCreditData({ rows, seed, labelNoise: 0, ...knobs });
  return {
    scores: data.rows.map((r) => defaultProbability(r)),
    labels: data.rows.map((r) => Number(r.defaulted)),
  };
}

const reference = window(5000, 1);
const ctx = {
  monitorId: 'mon_1',
  runId: 'run_1',
  deploymentId: 'dep_1',
  modelVersionId: 'mv_1',
  windowStart: 0,
  windowEnd: 1,
};

describe('CBPE', () => {
  it('estimates accuracy within the band of the realised one on calibrated scores, without calibrating', () => {
    const model = fitCbpe(reference);
    expect(model.calibration.method).toBe('none');
    expect(model.calibration.eceBefore).toBeLessThan(0.05);
    const current = window(2000, 7);
    const estimate = estimateCbpe(model, current.scores);
    expect(estimate.status).toBe('ok');
    const cmp = compareCbpe(estimate, realisedCbpeMetrics(model, current));
    for (const m of CBPE_METRICS) expect(cmp[m].withinBand, m).toBe(true);
    expect(Math.abs(cmp.accuracy.error!)).toBeLessThan(0.03);
    expect(estimate.accuracy.lower!).toBeLessThan(estimate.accuracy.value!);
    expect(estimate.accuracy.upper!).toBeGreaterThan(estimate.accuracy.value!);
  });

  it('the model is JSON: a stored and reloaded model gives the same estimate', () => {
    const model = fitCbpe({ ...reference, scores: reference.scores.map((s) => s ** 0.5) });
    const reloaded = parseCbpeModel(JSON.parse(JSON.stringify(model)));
    expect(reloaded.calibration.method).toBe('isotonic');
    expect(() => parseCbpeModel({ ...model, calibration: { ...model.calibration, map: null } })).toThrow(
      /model\.calibration\.map/,
    );
    expect(() => parseCbpeModel({ ...model, threshold: 2 })).toThrow(/model\.threshold/);
    const scores = window(500, 3).scores.map((s) => s ** 0.5);
    expect(estimateCbpe(reloaded, scores)).toEqual(estimateCbpe(model, scores));
  });

  it('after a covariate shift the estimate moves the way the realised value does', () => {
    const model = fitCbpe(reference);
    const before = window(2000, 7);
    const after = window(2000, 8, { covariateDrift: 2 });
    const eBefore = estimateCbpe(model, before.scores);
    const eAfter = estimateCbpe(model, after.scores);
    const rBefore = realisedCbpeMetrics(model, before);
    const rAfter = realisedCbpeMetrics(model, after);
    for (const m of ['accuracy', 'recall', 'f1'] as const) {
      const estimatedMove = eAfter[m].value! - eBefore[m].value!;
      const realisedMove = rAfter[m].value! - rBefore[m].value!;
      expect(Math.sign(estimatedMove), m).toBe(Math.sign(realisedMove));
      expect(Math.abs(realisedMove), m).toBeGreaterThan(0.03);
    }
    expect(compareCbpe(eAfter, rAfter).accuracy.withinBand).toBe(true);
  });

  it('does not see concept drift: the realised value leaves the band while the estimate stays (its stated assumption)', () => {
    const model = fitCbpe(reference);
    // Same seed and knobs for the features: only P(y | x) changes, so the scores are identical.
    const stable = window(2000, 7);
    const drifted = window(2000, 7, { conceptDrift: 1 });
    expect(drifted.scores).toEqual(stable.scores);
    const estimate = estimateCbpe(model, drifted.scores);
    expect(estimate.assumption).toMatch(/P\(y \| x\) is unchanged/);
    const cmp = compareCbpe(estimate, realisedCbpeMetrics(model, drifted));
    expect(cmp.recall.withinBand).toBe(false);
  });

  it('calibrates miscalibrated scores with isotonic regression and then estimates close to the realised value', () => {
    const squash = (s: number) => s ** 0.3; // monotone, so ranking (AUC) is kept, but P(y | s) != s
    const model = fitCbpe({ scores: reference.scores.map(squash), labels: reference.labels });
    expect(model.calibration.method).toBe('isotonic');
    expect(model.calibration.eceBefore).toBeGreaterThan(0.2);
    expect(model.calibration.eceAfter).toBeLessThan(0.01);
    const current = window(2000, 9);
    const scores = current.scores.map(squash);
    const calibrated = estimateCbpe(model, scores);
    const realised = realisedCbpeMetrics(model, { scores, labels: current.labels });
    expect(compareCbpe(calibrated, realised).accuracy.withinBand).toBe(true);
    // Without calibration the same scores would claim a far lower accuracy than realised.
    const raw = estimateCbpe(
      { ...model, calibration: { ...model.calibration, method: 'none', map: null } },
      scores,
    );
    expect(Math.abs(raw.accuracy.value! - realised.accuracy.value!)).toBeGreaterThan(0.1);
  });

  it('pool-adjacent-violators gives the hand-computed monotone fit', () => {
    // Scores 0.1..0.5 with labels 1,0,0,1,1: blocks {0.1,0.2,0.3} pool to 1/3, then 1 and 1.
    const map = fitIsotonic([0.1, 0.2, 0.3, 0.4, 0.5], [1, 0, 0, 1, 1]);
    expect(map).toEqual({ x: [0.1, 0.3, 0.4, 0.5], y: [1 / 3, 1 / 3, 1, 1] });
    expect(applyIsotonic(map, 0.35)).toBeCloseTo(2 / 3, 12); // halfway between 1/3 and 1
    expect(applyIsotonic(map, 0)).toBeCloseTo(1 / 3, 12);
    expect(applyIsotonic(map, 0.9)).toBe(1);
  });

  it('a window with fewer rows than the minimum is insufficient data, never a number', () => {
    const model = fitCbpe({ ...reference, minRows: 200 });
    const estimate = estimateCbpe(model, reference.scores.slice(0, 199));
    expect(estimate.status).toBe('insufficient_data');
    expect(estimate.reason).toMatch(/199 rows/);
    for (const m of CBPE_METRICS) expect(estimate[m].value).toBeNull();
    const points = cbpeToMetricPoints(ctx, model, estimate);
    expect(points.map((p) => p.status)).toEqual(CBPE_METRICS.map(() => 'insufficient_data'));
  });

  it('a one-class reference is a named error', () => {
    const labels = reference.labels.map(() => 0);
    expect(() => fitCbpe({ scores: reference.scores, labels })).toThrow(OneClassReferenceError);
    try {
      fitCbpe({ scores: reference.scores, labels });
    } catch (err) {
      expect(err).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: 'labels', reason: 'one_class_reference' },
      });
    }
  });

  it('labels of the wrong type, scores out of range and a too-small reference are validation errors naming the field', () => {
    const labels: unknown[] = [...reference.labels];
    labels[12] = 'yes';
    expect(() => fitCbpe({ scores: reference.scores, labels })).toThrow(/labels\[12\]/);
    const scores = [...reference.scores];
    scores[3] = Number.NaN;
    expect(() => fitCbpe({ scores, labels: reference.labels })).toThrow(/scores\[3\]/);
    expect(() =>
      fitCbpe({ scores: reference.scores.slice(0, 250), labels: reference.labels.slice(0, 250) }),
    ).toThrow(/chunk/);
  });

  it('maps to estimate.<metric> points that fit the shared schema, alerting when the estimate leaves the reference range', () => {
    const model = fitCbpe(reference);
    const ok = cbpeToMetricPoints(ctx, model, estimateCbpe(model, window(2000, 7).scores), {
      slice: 'sex=female',
    });
    expect(ok.map((p) => p.metric)).toEqual([
      'estimate.accuracy',
      'estimate.precision',
      'estimate.recall',
      'estimate.f1',
      'estimate.roc_auc',
    ]);
    for (const p of ok) MetricPointSchema.parse(p);
    expect(ok.every((p) => p.status === 'ok' && p.slice === 'sex=female')).toBe(true);
    const shifted = cbpeToMetricPoints(
      ctx,
      model,
      estimateCbpe(model, window(2000, 8, { covariateDrift: 2 }).scores),
    );
    expect(shifted.find((p) => p.metric === 'estimate.f1')!.status).toBe('alert');
  });
});
