import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  calibrationTable,
  classificationMetrics,
  logLoss,
  pick,
  regressionMetrics,
  rocAuc,
  sliceMetrics,
} from './metrics.js';

// Six rows, threshold 0.5:
//   label  1    0    1    1    0    0
//   score  0.9  0.8  0.7  0.4  0.3  0.1
//   pred   1    1    1    0    0    0
const labels = [1, 0, 1, 1, 0, 0];
const scores = [0.9, 0.8, 0.7, 0.4, 0.3, 0.1];

describe('classification metrics match their textbook definitions', () => {
  it('confusion matrix, accuracy, precision, recall, F1', () => {
    const m = classificationMetrics(labels, scores);
    // TP = rows 0,2; FP = row 1; FN = row 3; TN = rows 4,5.
    expect(m.confusion).toEqual({ tp: 2, fp: 1, tn: 2, fn: 1 });
    expect(m.count).toBe(6);
    expect(m.positives).toBe(3);
    expect(m.accuracy).toBeCloseTo(4 / 6, 12); // (TP + TN) / n
    expect(m.precision).toBeCloseTo(2 / 3, 12); // TP / (TP + FP)
    expect(m.recall).toBeCloseTo(2 / 3, 12); // TP / (TP + FN)
    expect(m.f1).toBeCloseTo(2 / 3, 12); // 2TP / (2TP + FP + FN) = 4 / 6
  });

  it('a higher threshold changes the predicted labels', () => {
    // threshold 0.75: predicted 1 for 0.9 and 0.8 only -> TP 1, FP 1, FN 2, TN 2.
    const m = classificationMetrics(labels, scores, { threshold: 0.75 });
    expect(m.confusion).toEqual({ tp: 1, fp: 1, tn: 2, fn: 2 });
    expect(m.recall).toBeCloseTo(1 / 3, 12);
  });

  it('ROC AUC counts the ordered positive/negative pairs', () => {
    // 3 x 3 = 9 pairs. Positive 0.9 beats 0.8, 0.3, 0.1 (3); 0.7 beats 0.3, 0.1 (2); 0.4 beats 0.3, 0.1 (2).
    // AUC = 7 / 9.
    expect(rocAuc(labels, scores)).toBeCloseTo(7 / 9, 12);
  });

  it('ROC AUC counts a tie between a positive and a negative as one half', () => {
    // labels 1 0 1 0, scores 0.5 0.5 0.8 0.2: 2 x 2 = 4 pairs.
    // pos 0.5 vs neg 0.5 -> 0.5, vs neg 0.2 -> 1; pos 0.8 beats both -> 2. AUC = 3.5 / 4 = 0.875.
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.8, 0.2])).toBeCloseTo(0.875, 12);
    // All scores equal: every pair is a tie -> 0.5.
    expect(rocAuc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3])).toBeCloseTo(0.5, 12);
  });

  it('ROC AUC is undefined (NaN) with only one class', () => {
    expect(rocAuc([1, 1, 1], [0.2, 0.5, 0.9])).toBeNaN();
    expect(classificationMetrics([0, 0], [0.1, 0.7]).rocAuc).toBeNaN();
  });

  it('PR AUC is average precision, one step per distinct score', () => {
    // Sorted by score: 1 0 1 1 0 0, 3 positives.
    //   k=1: P = 1/1, R = 1/3 -> + (1/3)(1)   = 1/3
    //   k=2: R unchanged       -> + 0
    //   k=3: P = 2/3, R = 2/3 -> + (1/3)(2/3) = 2/9
    //   k=4: P = 3/4, R = 1   -> + (1/3)(3/4) = 1/4
    // AP = 12/36 + 8/36 + 9/36 = 29/36.
    expect(averagePrecision(labels, scores)).toBeCloseTo(29 / 36, 12);
    // Ties form one step: scores 0.8 | 0.5 0.5 | 0.2 with labels 1 | 1 0 | 0.
    //   step 1: P = 1, R = 1/2 -> 1/2; step 2 (two rows): P = 2/3, R = 1 -> (1/2)(2/3) = 1/3. AP = 5/6.
    expect(averagePrecision([1, 0, 1, 0], [0.5, 0.5, 0.8, 0.2])).toBeCloseTo(5 / 6, 12);
  });

  it('log loss is the mean negative log-likelihood, clipped', () => {
    // -(ln .9 + ln(1-.8) + ln .7 + ln .4 + ln(1-.3) + ln(1-.1)) / 6
    //  = -(2 ln .9 + ln .2 + 2 ln .7 + ln .4) / 6 = 3.4497995 / 6 = 0.5749666
    const expected = -(2 * Math.log(0.9) + Math.log(0.2) + 2 * Math.log(0.7) + Math.log(0.4)) / 6;
    expect(logLoss(labels, scores)).toBeCloseTo(expected, 12);
    expect(logLoss(labels, scores)).toBeCloseTo(0.5749666, 6);
    // A certain mistake costs -ln(1e-15) = 34.5388, not Infinity.
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(1e-15), 6);
  });

  it('Brier score is the mean squared error of the probabilities', () => {
    // (.1)^2 + (.8)^2 + (.3)^2 + (.6)^2 + (.3)^2 + (.1)^2 = .01 + .64 + .09 + .36 + .09 + .01 = 1.2; / 6 = 0.2
    expect(classificationMetrics(labels, scores).brier).toBeCloseTo(0.2, 12);
  });

  it('calibration table: ten equal bins of mean score against observed positive rate', () => {
    const t = calibrationTable([1, 0, 1, 0, 1], [0.05, 0.15, 0.12, 0.95, 1.0]);
    expect(t).toHaveLength(10);
    // bin 0 [0, .1): 0.05 (label 1)
    expect(t[0]).toMatchObject({ lower: 0, upper: 0.1, count: 1, fractionPositive: 1 });
    expect(t[0]!.meanPredicted).toBeCloseTo(0.05, 12);
    // bin 1 [.1, .2): 0.15 (0), 0.12 (1) -> mean .135, positives 1/2
    expect(t[1]!.count).toBe(2);
    expect(t[1]!.meanPredicted).toBeCloseTo(0.135, 12);
    expect(t[1]!.fractionPositive).toBeCloseTo(0.5, 12);
    // bin 9 [.9, 1]: 0.95 (0) and 1.0 (1): a score of exactly 1 lands in the last bin.
    expect(t[9]!.count).toBe(2);
    expect(t[9]!.fractionPositive).toBeCloseTo(0.5, 12);
    // empty bins say so with NaN rather than 0
    expect(t[5]!.count).toBe(0);
    expect(t[5]!.meanPredicted).toBeNaN();
  });

  it('refuses labels other than 0/1 and mismatched lengths, naming the problem', () => {
    expect(() => classificationMetrics([2], [0.5])).toThrow(/labels must be 0 or 1/);
    expect(() => classificationMetrics([1, 0], [0.5])).toThrow(/2 labels but 1 predictions/);
  });
});

describe('regression metrics match their textbook definitions', () => {
  // y    = 3, -0.5, 2, 7, 0
  // yhat = 2.5, 0,  2, 8, 1
  // e    = .5, -.5, 0, -1, -1
  const y = [3, -0.5, 2, 7, 0];
  const yhat = [2.5, 0, 2, 8, 1];

  it('MAE, RMSE, R2, and MAPE skipping zero targets', () => {
    const m = regressionMetrics(y, yhat);
    expect(m.count).toBe(5);
    expect(m.mae).toBeCloseTo(3 / 5, 12); // (.5 + .5 + 0 + 1 + 1) / 5
    expect(m.rmse).toBeCloseTo(Math.sqrt(2.5 / 5), 12); // sqrt((.25 + .25 + 0 + 1 + 1) / 5)
    // mean y = 11.5 / 5 = 2.3; SS_tot = .49 + 7.84 + .09 + 22.09 + 5.29 = 35.8; R2 = 1 - 2.5 / 35.8
    expect(m.r2).toBeCloseTo(1 - 2.5 / 35.8, 12);
    // MAPE over y != 0: (.5/3 + .5/.5 + 0/2 + 1/7) / 4 = 0.327381; the y = 0 row is skipped.
    expect(m.mape).toBeCloseTo((0.5 / 3 + 1 + 0 + 1 / 7) / 4, 12);
    expect(m.mapeSkipped).toBe(1);
  });

  it('R2 of a constant target is undefined; a perfect fit has R2 = 1 and no error', () => {
    expect(regressionMetrics([4, 4, 4], [4, 5, 3]).r2).toBeNaN();
    const perfect = regressionMetrics([1, 2, 3], [1, 2, 3]);
    expect(perfect).toMatchObject({ mae: 0, rmse: 0, r2: 1, mape: 0 });
  });
});

describe('per-slice metrics', () => {
  it('computes the metrics once per value of the slice column, sorted by value', () => {
    const sex = ['f', 'm', 'f', 'm', null, 'f'];
    const slices = sliceMetrics(sex, (rows) => classificationMetrics(pick(labels, rows), pick(scores, rows)));
    expect(slices.map((s) => [s.slice, s.count])).toEqual([
      ['(missing)', 1],
      ['f', 3],
      ['m', 2],
    ]);
    // slice f = rows 0, 2, 5: labels 1 1 0, scores .9 .7 .1 -> all correct at 0.5, AUC 1
    const f = slices.find((s) => s.slice === 'f')!.metrics;
    expect(f.accuracy).toBe(1);
    expect(f.rocAuc).toBe(1);
    // slice m = rows 1, 3: labels 0 1, scores .8 .4 -> both wrong, AUC 0
    const m = slices.find((s) => s.slice === 'm')!.metrics;
    expect(m.accuracy).toBe(0);
    expect(m.rocAuc).toBe(0);
  });
});
