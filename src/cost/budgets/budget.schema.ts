import { z } from 'zod';

/*
 * Budgets: a cap on what one scope may spend per period. The amount is the hard limit; the soft
 * limit is a share of it. Periods are UTC calendar periods (a month from the 1st, an ISO week from
 * Monday, a day from midnight) or one custom window.
 */

export const BUDGET_SCOPE_KINDS = ['experiment', 'tag', 'team'] as const;
export const budgetScopeKindSchema = z.enum(BUDGET_SCOPE_KINDS);
export type BudgetScopeKind = z.infer<typeof budgetScopeKindSchema>;

export const BUDGET_PERIODS = ['month', 'week', 'day', 'custom'] as const;
export const budgetPeriodSchema = z.enum(BUDGET_PERIODS);
export type BudgetPeriod = z.infer<typeof budgetPeriodSchema>;

export const budgetIdSchema = z.string().regex(/^bud_[0-9a-z]{26}$/, 'not a budget id (bud_...)');

/** A tag scope is one run tag, written key=value (the key as tracking allows it). */
const tagScopeValue = z
  .string()
  .regex(/^[^=\s][^=]{0,249}=.{1,5000}$/s, "a run tag written key=value (e.g. 'project=churn')");

const isoTime = z.string().datetime({ offset: true });

export const createBudgetSchema = z
  .strictObject({
    name: z.string().min(1).max(200),
    scope: z.strictObject({ kind: budgetScopeKindSchema, value: z.string().min(1).max(5250) }),
    period: budgetPeriodSchema,
    /** Custom periods: the window [from, to). */
    from: isoTime.optional(),
    to: isoTime.optional(),
    amount: z.number().positive().finite(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'an ISO 4217 code (USD, EUR, ...)')
      .default('USD'),
    /** The soft limit as a share of the amount (default 0.8). */
    softShare: z.number().gt(0).max(1).default(0.8),
    /**
     * A tag or team no run carries yet is refused (most likely a typo); true creates the budget anyway,
     * with a warning (a budget set up before the team's first run).
     */
    allowUnknownScope: z.boolean().default(false),
  })
  .superRefine((b, ctx) => {
    if (b.scope.kind === 'tag' && !tagScopeValue.safeParse(b.scope.value).success)
      ctx.addIssue({ code: 'custom', path: ['scope', 'value'], message: 'a run tag written key=value' });
    if (b.period === 'custom') {
      if (!b.from || !b.to)
        ctx.addIssue({
          code: 'custom',
          path: [b.from ? 'to' : 'from'],
          message: 'a custom period needs from and to',
        });
      else if (Date.parse(b.to) <= Date.parse(b.from))
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must be after from' });
    } else if (b.from || b.to)
      ctx.addIssue({
        code: 'custom',
        path: [b.from ? 'from' : 'to'],
        message: `only a custom period takes from/to (this one is a ${b.period})`,
      });
  });
export type CreateBudgetInput = z.input<typeof createBudgetSchema>;

export const updateBudgetSchema = z.strictObject({
  amount: z.number().positive().finite().optional(),
  softShare: z.number().gt(0).max(1).optional(),
});
export type UpdateBudgetInput = z.input<typeof updateBudgetSchema>;

export const budgetSchema = z.object({
  id: z.string(),
  name: z.string(),
  scope: z.object({ kind: budgetScopeKindSchema, value: z.string() }),
  period: budgetPeriodSchema,
  amount: z.number(),
  currency: z.string(),
  softShare: z.number(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The period in force now; null for a custom window not open now. */
  current: z
    .object({
      from: z.string(),
      to: z.string(),
      /** Spend so far in the period, as of the last check (null before the first). */
      spent: z.number().nullable(),
      /** Linear forecast to the period's end: spent / elapsed * length (null before the first check). */
      forecast: z.number().nullable(),
      checkedAt: z.string().nullable(),
      softReached: z.boolean(),
      /** True while the hard limit is spent: new work in scope is refused, queued work held. */
      exhausted: z.boolean(),
    })
    .nullable(),
});
export type Budget = z.infer<typeof budgetSchema>;

export const budgetCreatedSchema = z.object({ budget: budgetSchema, warnings: z.array(z.string()) });
export type BudgetCreated = z.infer<typeof budgetCreatedSchema>;

/** What one check of one budget found. */
export const budgetCheckSchema = z.object({
  budgetId: z.string(),
  name: z.string(),
  status: z.enum(['ok', 'soft', 'exhausted', 'inactive', 'currency_mismatch']),
  spent: z.number().nullable(),
  forecast: z.number().nullable(),
  limit: z.number(),
  currency: z.string(),
  /** Events this check emitted (at most one soft and one hard per period). */
  emitted: z.array(z.string()),
});
export type BudgetCheck = z.infer<typeof budgetCheckSchema>;
