/*
 * Table types of cost control's budgets and idle reaper (migration 019). A budget caps the spend of
 * one scope (an experiment, a tag key=value, a team) per period; the reaper logs what it released.
 */

export interface BudgetTable {
  id: string;
  name: string;
  /** 'experiment' | 'tag' | 'team' (BudgetScopeKind). */
  scope_kind: string;
  /** The experiment id, 'key=value' of a run tag, or the team name (the run tag team=<name>). */
  scope_value: string;
  /** 'month' | 'week' | 'day' | 'custom' (UTC calendar periods; custom is one fixed window). */
  period: string;
  /** Custom periods only: the window [period_start, period_end). */
  period_start: number | null;
  period_end: number | null;
  /** The hard limit, in `currency`. */
  amount: number;
  currency: string;
  /** The soft limit as a share of the hard one (0 < share <= 1). */
  soft_share: number;
  created_by: string;
  created_at: number;
  updated_at: number;
  /** Soft delete (`budgets rm`): a removed budget refuses nothing and is checked no more. */
  deleted_at: number | null;
  /** The start of the period whose soft event was emitted: at most one per period. */
  soft_notified_period: number | null;
  /** The start of the period in which the hard limit was reached: exhausted while it is the current one. */
  exhausted_period: number | null;
  /** The last check: spend so far in the period, its forecast to the period's end, and when. */
  last_spent: number | null;
  last_forecast: number | null;
  last_checked_at: number | null;
}

export interface ReaperActionTable {
  id: string;
  /** 'worker_exit' | 'deployment_unload' | 'deployment_wake' | 'gpu_idle' (ReaperActionKind). */
  kind: string;
  /** The worker id, deployment name or job id acted on. */
  target: string;
  at: number;
  /** How long it had been idle when the reaper acted. */
  idle_ms: number | null;
  /** A wake: how long the model took to load again (the cold start the waking request paid). */
  cold_start_ms: number | null;
  /** JSON details (policy, utilisation, ...). */
  details: string | null;
}

/** Table types of budgets and the reaper. */
export interface BudgetTables {
  budgets: BudgetTable;
  reaper_actions: ReaperActionTable;
}
