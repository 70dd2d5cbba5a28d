import { toIso } from '../../core/clock.js';
import type { BudgetRow } from './budget.repo.js';
import type { Budget, BudgetPeriod, BudgetScopeKind } from './budget.schema.js';
import { type PeriodWindow, periodAt } from './budget-period.js';

/** The period a budget row is in at `now` (null: a custom window not open). */
export function windowOf(row: BudgetRow, now: number): PeriodWindow | null {
  return periodAt(
    { period: row.period as BudgetPeriod, start: num(row.period_start), end: num(row.period_end) },
    now,
  );
}

/** True while the budget's hard limit is spent in the period in force at `now`. */
export function isExhausted(row: BudgetRow, now: number): boolean {
  const w = windowOf(row, now);
  return w !== null && row.exhausted_period !== null && Number(row.exhausted_period) === w.start;
}

/** A budget row in the API's shape; the last check counts only if it was made in the current period. */
export function toBudget(row: BudgetRow, now: number): Budget {
  const w = windowOf(row, now);
  const checkedNow = w !== null && row.last_checked_at !== null && Number(row.last_checked_at) >= w.start;
  return {
    id: row.id,
    name: row.name,
    scope: { kind: row.scope_kind as BudgetScopeKind, value: row.scope_value },
    period: row.period as BudgetPeriod,
    amount: Number(row.amount),
    currency: row.currency,
    softShare: Number(row.soft_share),
    createdBy: row.created_by,
    createdAt: toIso(Number(row.created_at)),
    updatedAt: toIso(Number(row.updated_at)),
    current: w && {
      from: toIso(w.start),
      to: toIso(w.end),
      spent: checkedNow ? num(row.last_spent) : null,
      forecast: checkedNow ? num(row.last_forecast) : null,
      checkedAt: checkedNow ? toIso(Number(row.last_checked_at)) : null,
      softReached: row.soft_notified_period !== null && Number(row.soft_notified_period) === w.start,
      exhausted: isExhausted(row, now),
    },
  };
}

function num(v: number | string | null): number | null {
  return v === null ? null : Number(v);
}
