import type { Db } from '../store/index.js';
import { bestSoFar, type MedianRuleOptions, medianRuleStops, type StoppingBoard } from './median-stopping.js';
import * as repo from './sweep-board.repo.js';

/*
 * The median-stopping board in the database: trials of one sweep running on different workers (threads,
 * processes, machines) report to it and read each other's curves, with the rule of median-stopping.ts.
 * A trial's own best-so-far is kept by its reporter (it reports in order, from one place at a time).
 */

/** The database board of one sweep (keyed by its parent run id). */
export function databaseStoppingBoard(
  db: Db,
  sweepId: string,
  rule: Pick<MedianRuleOptions, 'warmup' | 'minTrials' | 'higherIsBetter'>,
): StoppingBoard {
  const own = new Map<number, { best: number; last: number }>();
  return {
    async reset(t) {
      own.delete(t);
      await repo.deleteCurve({ tx: db, sweepId, trial: t });
    },
    async report(t, i, score) {
      const prev = i > 0 ? (own.get(t)?.best ?? Number.NaN) : Number.NaN;
      const best = bestSoFar(prev, score, rule.higherIsBetter);
      own.set(t, { best, last: i });
      await repo.upsertPoint({
        tx: db,
        sweepId,
        trial: t,
        iteration: i,
        best: Number.isNaN(best) ? null : best,
      });
      if (i + 1 < rule.warmup || Number.isNaN(best)) return false;
      const others = await repo.othersAt({ tx: db, sweepId, trial: t, iteration: i });
      return medianRuleStops(
        rule,
        i,
        best,
        others.map((v) => v ?? Number.NaN),
      );
    },
    async finish(t) {
      const mine = own.get(t);
      if (mine) await repo.markFinal({ tx: db, sweepId, trial: t, iteration: mine.last });
    },
  };
}
