import { describe, expect, it } from 'vitest';
import { MedianStoppingBoard } from './median-stopping.js';
import { gridTrials, parseGrid, parseRanges, randomTrials } from './sweep-trials.js';

describe('median stopping rule', () => {
  const rule = { trials: 4, maxIterations: 20, warmup: 3, minTrials: 2, higherIsBetter: true };

  it('stops a trial whose best-so-far falls below the median of the others at the same iteration', () => {
    const board = new MedianStoppingBoard(rule);
    // Trials 0 and 1 ran to the end with rising AUC curves.
    for (let i = 0; i < 10; i++) board.report(0, i, 0.7 + i * 0.01);
    board.finish(0);
    for (let i = 0; i < 10; i++) board.report(1, i, 0.72 + i * 0.01);
    board.finish(1);
    // Trial 2 is flat at 0.6: inside the warm-up (iterations 0, 1) it runs on ...
    expect(board.report(2, 0, 0.6)).toBe(false);
    expect(board.report(2, 1, 0.6)).toBe(false);
    // ... at iteration 2 its best (0.6) is below the median of 0.72 and 0.74 (0.73): stop.
    expect(board.report(2, 2, 0.6)).toBe(true);
  });

  it('keeps a trial that is at or above the median, and uses best-so-far, not the last value', () => {
    const board = new MedianStoppingBoard(rule);
    for (let i = 0; i < 5; i++) board.report(0, i, 0.7);
    board.finish(0);
    for (let i = 0; i < 5; i++) board.report(1, i, 0.8);
    board.finish(1);
    // median of 0.7 and 0.8 = 0.75; trial 2 peaked at 0.9 then dropped: its best (0.9) keeps it.
    board.report(2, 0, 0.9);
    board.report(2, 1, 0.5);
    expect(board.report(2, 2, 0.5)).toBe(false);
    expect(board.curve(2)).toEqual([0.9, 0.9, 0.9]);
  });

  it('does not judge without enough other trials, and counts ended trials by their final best', () => {
    const board = new MedianStoppingBoard(rule);
    for (let i = 0; i < 2; i++) board.report(0, i, 0.9);
    // Trial 0 is short of iteration 4 and has not ended: it does not count yet, so no judgement.
    for (let i = 0; i < 4; i++) expect(board.report(1, i, 0.1)).toBe(false);
    board.finish(0);
    board.report(2, 0, 0.95);
    board.finish(2);
    // Now trial 0 (ended at 0.9) and trial 2 (ended at 0.95) count with their final bests.
    expect(board.report(1, 4, 0.1)).toBe(true);
  });

  it('for lower-is-better scores (RMSE) stops the trial with the larger error', () => {
    const board = new MedianStoppingBoard({ ...rule, higherIsBetter: false });
    for (const t of [0, 1]) {
      for (let i = 0; i < 5; i++) board.report(t, i, 1 - i * 0.1);
      board.finish(t);
    }
    board.report(2, 0, 2);
    board.report(2, 1, 2);
    expect(board.report(2, 2, 2)).toBe(true);
    board.report(3, 0, 0.5);
    board.report(3, 1, 0.5);
    expect(board.report(3, 2, 0.5)).toBe(false);
  });

  it('a reset trial starts its curve again (a retried trial reports from iteration 0)', () => {
    const board = new MedianStoppingBoard(rule);
    for (let i = 0; i < 5; i++) board.report(0, i, 0.8);
    board.reset(0);
    expect(board.curve(0)).toEqual([]);
    board.report(0, 0, 0.5);
    expect(board.curve(0)).toEqual([0.5]);
  });
});

describe('sweep trials', () => {
  it('a grid is every combination, first key slowest', () => {
    expect(gridTrials(parseGrid(['learning_rate=0.1,0.3', 'max_depth=2,4']))).toEqual([
      { learning_rate: '0.1', max_depth: '2' },
      { learning_rate: '0.1', max_depth: '4' },
      { learning_rate: '0.3', max_depth: '2' },
      { learning_rate: '0.3', max_depth: '4' },
    ]);
  });

  it('random trials are seeded, inside their ranges, integers for integer bounds, log-uniform on request', () => {
    const ranges = parseRanges(['learning_rate=0.001:1:log', 'max_depth=2:8']);
    expect(ranges.max_depth).toMatchObject({ integer: true, log: false });
    const a = randomTrials(ranges, 200, 7);
    expect(randomTrials(ranges, 200, 7)).toEqual(a);
    expect(randomTrials(ranges, 200, 8)).not.toEqual(a);
    const lr = a.map((t) => Number(t.learning_rate));
    const depth = a.map((t) => Number(t.max_depth));
    expect(Math.min(...lr)).toBeGreaterThanOrEqual(0.001);
    expect(Math.max(...lr)).toBeLessThanOrEqual(1);
    expect(depth.every((d) => Number.isInteger(d) && d >= 2 && d <= 8)).toBe(true);
    // Log-uniform: about a third of the draws fall in each decade [0.001, 0.01), [0.01, 0.1), [0.1, 1].
    const lowDecade = lr.filter((v) => v < 0.01).length / lr.length;
    expect(lowDecade).toBeGreaterThan(0.2);
    expect(lowDecade).toBeLessThan(0.47);
  });

  it('refuses malformed grids and ranges, naming the option', () => {
    expect(() => parseGrid(['lr'])).toThrow(/--grid: expected name=v1,v2/);
    expect(() => parseRanges(['lr=1:0'])).toThrow(/--param-range/);
    expect(() => parseRanges(['lr=0:1:log'])).toThrow(/log range needs lo > 0/);
  });
});
