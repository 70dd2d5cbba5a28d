import type { AuditLog } from '../../audit/index.js';
import type { Clock } from '../../core/clock.js';
import type { Db } from '../../store/index.js';
import type { ExperimentService, RunService } from '../../tracking/index.js';
import { createBudgetRecords } from './budget.service.js';
import { createBudgetAdmission } from './budget-admission.js';
import { createBudgetChecker } from './budget-check.js';
import type { BudgetEvents } from './budgets.events.js';
import type { CostLedger } from './cost-ledger.js';

/*
 * Budgets (issue 14, item 4): caps on what an experiment, a run tag or a team spends per period, a
 * soft alert through the events outbox, a hard stop enforced through the jobs admission seam, and a
 * linear forecast to the period's end.
 */

/** The API contracts of budgets (create, update, the budget as shown, one check's outcome). */
export * from './budget.schema.js';
/** The `cost.budgets` repeatable job and its cadence. */
export { BUDGETS_CHECK_EVERY_MS, BUDGETS_CHECK_JOB, budgetsCheckJob } from './budget-check.job.js';
/** UTC periods and the linear forecast. */
export { linearForecast, periodAt } from './budget-period.js';
/** The events budgets emit (add them to the catalogue). */
export { type BudgetEvents, budgetEvents } from './budgets.events.js';
/** The spend port budgets read (the cost ledger of attribution implements it). */
export type { CostLedger, CostScope } from './cost-ledger.js';

export interface BudgetsDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  events: BudgetEvents;
  ledger: CostLedger;
  experiments: Pick<ExperimentService, 'get'>;
  runs: Pick<RunService, 'get'>;
}

/** Builds budgets: records (CRUD), the checker (the job's pass) and the admission port for jobs. */
export function createBudgetsDomain(deps: BudgetsDeps) {
  const checker = createBudgetChecker(deps);
  const records = createBudgetRecords({ ...deps, recheck: (id) => checker.checkOne(id) });
  const admission = createBudgetAdmission(deps);
  return { ...records, checkAll: checker.checkAll, checkOne: checker.checkOne, admission };
}

/** The budgets domain as the wiring builds it. */
export type BudgetsDomain = ReturnType<typeof createBudgetsDomain>;
