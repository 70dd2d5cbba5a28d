import { z } from 'zod';
import { defineJob } from '../../jobs/index.js';
import type { BudgetChecker } from './budget-check.js';

export const BUDGETS_CHECK_JOB = 'cost.budgets';
/** Spend is checked against budgets this often: a runaway sweep overshoots by at most a minute of spend. */
export const BUDGETS_CHECK_EVERY_MS = 60_000;

/** `cost.budgets`: one pass over every live budget (soft and hard limits, forecast); repeatable. */
export function budgetsCheckJob(checker: Pick<BudgetChecker, 'checkAll'>, queue: string) {
  return defineJob({
    name: BUDGETS_CHECK_JOB,
    payload: z.strictObject({}),
    queue,
    // The next tick is the retry.
    attempts: 1,
    timeoutMs: 120_000,
    handler: async () => {
      const { checks, failed } = await checker.checkAll();
      return {
        checked: checks.length,
        exhausted: checks.filter((c) => c.status === 'exhausted').map((c) => c.name),
        emitted: checks.reduce((n, c) => n + c.emitted.length, 0),
        failed,
      };
    },
  });
}
