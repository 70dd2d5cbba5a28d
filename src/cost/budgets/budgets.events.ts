import { z } from 'zod';
import { defineEvent, type EventEmitter } from '../../events/index.js';

/* The events budgets emit, each in the transaction of the check that found the limit crossed. */

const budgetLimit = z.object({
  budgetId: z.string(),
  scope: z.object({ kind: z.string(), value: z.string() }),
  spent: z.number(),
  limit: z.number(),
  currency: z.string(),
  /** The period the limit was crossed in (ISO). */
  periodStart: z.string(),
  periodEnd: z.string(),
});

export const budgetSoftLimitReached = defineEvent({
  type: 'budget.soft_limit_reached',
  emittedBy: 'cost',
  description:
    "A budget's spend crossed its soft share (once per budget per period); limit is the soft limit.",
  schema: budgetLimit,
});

export const budgetHardLimitReached = defineEvent({
  type: 'budget.hard_limit_reached',
  emittedBy: 'cost',
  description:
    "A budget's spend reached its hard limit (once per budget per period): new work in its scope is refused and queued work held.",
  schema: budgetLimit,
});

/** Every event budgets emit. */
export const budgetEvents = [budgetSoftLimitReached, budgetHardLimitReached] as const;

/** The port budgets emit through (the event bus). */
export type BudgetEvents = EventEmitter<typeof budgetEvents>;
