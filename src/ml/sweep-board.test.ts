import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/backends.js';
import { openStore } from '../store/index.js';
import { type MedianRuleOptions, MedianStoppingBoard } from './median-stopping.js';
import { databaseStoppingBoard } from './sweep-board.js';

/*
 * The database board is the median rule of median-stopping.ts on rows any worker reads: fed the same
 * reports, it stops the same trials at the same iterations as the board in memory, and two boards on
 * two connections (two workers) see each other's curves.
 */

const rule: MedianRuleOptions = {
  trials: 5,
  maxIterations: 12,
  warmup: 3,
  minTrials: 2,
  higherIsBetter: true,
};

/** A seeded walk of reports: trials interleaved, some ending early, a NaN now and then. */
function reports(seed: number): ({ t: number; i: number; score: number } | { t: number; end: true })[] {
  let x = seed;
  const rand = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  const level = Array.from({ length: rule.trials }, () => 0.5 + rand() * 0.4);
  const length = Array.from({ length: rule.trials }, () => 4 + Math.floor(rand() * 8));
  const at = new Array(rule.trials).fill(0);
  const out: ({ t: number; i: number; score: number } | { t: number; end: true })[] = [];
  for (;;) {
    const open = at.map((n, t) => (n <= length[t]! ? t : -1)).filter((t) => t >= 0);
    if (!open.length) return out;
    const t = open[Math.floor(rand() * open.length)]!;
    if (at[t] === length[t]) out.push({ t, end: true });
    else {
      const i = at[t]!;
      out.push({ t, i, score: rand() < 0.05 ? Number.NaN : level[t]! + (rand() - 0.5) * 0.1 + i * 0.005 });
    }
    at[t]++;
  }
}

describeEachBackend('median-stopping board in the database', (getStore) => {
  it('stops exactly the trials, at exactly the iterations, that the board in memory stops', async () => {
    for (const seed of [1, 2, 3]) {
      const memory = new MedianStoppingBoard(rule);
      const database = databaseStoppingBoard(getStore().db, `sweep-contract-${seed}-${Date.now()}`, rule);
      const expected: boolean[] = [];
      const got: boolean[] = [];
      for (const r of reports(seed)) {
        if ('end' in r) {
          memory.finish(r.t);
          await database.finish(r.t);
        } else {
          expected.push(memory.report(r.t, r.i, r.score));
          got.push(await database.report(r.t, r.i, r.score));
        }
      }
      expect(got).toEqual(expected);
      expect(expected.some(Boolean)).toBe(true);
    }
  });

  it('a trial reported on one connection is judged against curves written on another', async () => {
    const other = await openStore(getStore().url);
    try {
      const sweepId = `sweep-two-${Date.now()}`;
      const workerA = databaseStoppingBoard(getStore().db, sweepId, rule);
      const workerB = databaseStoppingBoard(other.db, sweepId, rule);
      for (const t of [0, 1]) {
        for (let i = 0; i < 5; i++) await workerA.report(t, i, 0.8);
        await workerA.finish(t);
      }
      expect(await workerB.report(2, 0, 0.1)).toBe(false);
      expect(await workerB.report(2, 1, 0.1)).toBe(false);
      expect(await workerB.report(2, 2, 0.1)).toBe(true);
      // A retried trial starts its curve again: its old rows no longer speak for it.
      await workerA.reset(0);
      await workerA.reset(1);
      expect(await workerB.report(3, 2, 0.1)).toBe(false);
    } finally {
      await other.close();
    }
  });
});
