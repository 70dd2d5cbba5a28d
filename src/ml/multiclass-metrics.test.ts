import { describe, expect, it } from 'vitest';
import { flatMetrics, summarize, summarizeSlices } from './evaluation-report.js';
import { multiclassMetrics } from './multiclass-metrics.js';

/*
 * Six rows, classes a, b, c. Predicted (argmax): a, a, b, c, c, b; actual: a, b, b, c, a, c.
 *            pred a  pred b  pred c
 *   actual a    1       0       1
 *   actual b    1       1       0
 *   actual c    0       1       1
 * precision: a 1/2, b 1/2, c 1/2; recall: a 1/2, b 1/2, c 1/2; accuracy 3/6.
 */
const classes = ['a', 'b', 'c'];
const labels = [0, 1, 1, 2, 0, 2];
const probs = [
  [0.7, 0.2, 0.1],
  [0.5, 0.4, 0.1],
  [0.2, 0.6, 0.2],
  [0.1, 0.1, 0.8],
  [0.3, 0.1, 0.6],
  [0.2, 0.5, 0.3],
].flat();

describe('multiclass metrics', () => {
  it('match a hand-computed confusion matrix, per-class table and log loss', () => {
    const m = multiclassMetrics(labels, probs, classes);
    expect(m.confusion).toEqual([
      [1, 0, 1],
      [1, 1, 0],
      [0, 1, 1],
    ]);
    expect(m.accuracy).toBe(0.5);
    expect(m.microF1).toBe(0.5);
    for (const c of m.perClass) {
      expect(c.support).toBe(2);
      expect(c.precision).toBe(0.5);
      expect(c.recall).toBe(0.5);
      expect(c.f1).toBe(0.5);
    }
    expect(m.macroF1).toBeCloseTo(0.5, 15);
    const ll =
      -(Math.log(0.7) + Math.log(0.4) + Math.log(0.6) + Math.log(0.8) + Math.log(0.3) + Math.log(0.3)) / 6;
    expect(m.logLoss).toBeCloseTo(ll, 15);
  });

  it('macro and micro differ on an unbalanced table; a class never predicted has NaN precision', () => {
    // actual: a a a a b c; predicted: a a a a a a
    const m = multiclassMetrics([0, 0, 0, 0, 1, 2], new Array(6).fill([0.9, 0.05, 0.05]).flat(), classes);
    expect(m.accuracy).toBeCloseTo(4 / 6, 15);
    expect(m.perClass[1]!.precision).toBeNaN();
    expect(m.perClass[1]!.recall).toBe(0);
    // F1: a = 2*4/(4+6) = 0.8, b = 0, c = 0.
    expect(m.macroF1).toBeCloseTo(0.8 / 3, 15);
    expect(m.microF1).toBeCloseTo(4 / 6, 15);
  });

  it('are what evaluation reports and runs log, per class too, and per slice', () => {
    const s = summarize('classification', labels, probs, classes);
    expect(s.flat).toMatchObject({ accuracy: 0.5, f1_micro: 0.5, 'recall.a': 0.5, 'recall.c': 0.5 });
    expect(Object.keys(flatMetrics(s.full))).toContain('log_loss');
    const slices = summarizeSlices('classification', labels, probs, ['x', 'x', 'x', 'y', 'y', 'y'], classes);
    expect(slices.map((sl) => sl.metrics.flat.accuracy)).toEqual([2 / 3, 1 / 3]);
  });

  it('refuse a label outside the classes and a probability matrix of the wrong width', () => {
    expect(() => multiclassMetrics([3], [0.2, 0.3, 0.5], classes)).toThrow(/class indices in \[0, 3\)/);
    expect(() => multiclassMetrics([0], [0.2, 0.8], classes)).toThrow(/need 3 probabilities/);
  });
});
