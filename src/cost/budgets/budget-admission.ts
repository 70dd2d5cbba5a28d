import { type Clock, toIso } from '../../core/clock.js';
import { BudgetExceededError, NotFoundError } from '../../core/errors.js';
import type { HoldCheck, JobAdmission, JobScope } from '../../jobs/index.js';
import type { Db } from '../../store/index.js';
import type { RunService } from '../../tracking/index.js';
import * as repo from './budget.repo.js';
import { splitTag } from './budget.service.js';
import { isExhausted, windowOf } from './budget-view.js';

/*
 * Budgets' answer to the jobs admission seam. A job in the scope of an exhausted budget is refused
 * at enqueue (BUDGET_EXCEEDED, HTTP 402) and held if it is already queued; it goes on once the budget
 * is raised above the spend (update re-checks at once) or its period rolls over (the mark names the
 * old period, so it stops counting by itself).
 * A job is in a budget's scope when: experiment -> its experimentId; tag key=value -> its tags (its
 * own, plus those of the run it belongs to, e.g. a sweep's parent run) carry it; team -> tag team=<name>.
 */

export interface BudgetAdmissionDeps {
  db: Db;
  clock: Clock;
  runs: Pick<RunService, 'get'>;
}

/** An amount as people read it: six significant digits, no binary-fraction noise (0.018, not 0.018000000000000002). */
const shown = (n: number) => String(Number(n.toPrecision(6)));

/** Why an exhausted budget stops a scope; null when none does. */
function blockedBy(
  rows: repo.BudgetRow[],
  scope: JobScope,
  now: number,
): { row: repo.BudgetRow; why: string } | null {
  for (const row of rows) {
    if (!isExhausted(row, now)) continue;
    const matches =
      row.scope_kind === 'experiment'
        ? scope.experimentId === row.scope_value
        : (() => {
            const tag =
              row.scope_kind === 'team' ? { key: 'team', value: row.scope_value } : splitTag(row.scope_value);
            return scope.tags?.[tag.key] === tag.value;
          })();
    if (!matches) continue;
    const w = windowOf(row, now);
    const spent = row.last_spent === null ? null : Number(row.last_spent);
    return {
      row,
      why:
        `budget '${row.name}' (${row.scope_kind} ${row.scope_value}) is exhausted: spent ` +
        `${spent === null ? '?' : shown(spent)} of ${shown(Number(row.amount))} ${row.currency} this ${row.period}` +
        (w ? ` (until ${toIso(w.end)})` : '') +
        `; raise it (sextant budgets update ${row.name} --amount ...) or wait for the next period`,
    };
  }
  return null;
}

export function createBudgetAdmission(deps: BudgetAdmissionDeps): JobAdmission {
  return {
    async admit({ name, scope }) {
      let tags = scope.tags ?? {};
      if (scope.runId) {
        const run = await deps.runs.get(scope.runId).catch((err: unknown) => {
          if (err instanceof NotFoundError) return undefined;
          throw err;
        });
        // The job's own tags win over the run's.
        if (run) tags = { ...run.tags, ...tags };
      }
      const full: JobScope = { ...scope, ...(Object.keys(tags).length ? { tags } : {}) };
      const blocked = blockedBy(await repo.listExhausted({ tx: deps.db }), full, deps.clock.now());
      if (blocked)
        throw new BudgetExceededError(`${name}: refused, ${blocked.why}`, {
          budgetId: blocked.row.id,
          budget: blocked.row.name,
          scope: { kind: blocked.row.scope_kind, value: blocked.row.scope_value },
          limit: Number(blocked.row.amount),
          currency: blocked.row.currency,
        });
      return full;
    },
    async holds(): Promise<HoldCheck> {
      const rows = await repo.listExhausted({ tx: deps.db });
      if (!rows.length) return () => null;
      const now = deps.clock.now();
      return (scope) => blockedBy(rows, scope, now)?.why ?? null;
    },
  };
}
