import { z } from 'zod';

/*
 * The cost report contract (API, CLI --json, the HTML page). Amounts are in the price book's currency,
 * rounded to the cent so that the groups add up to the total exactly (largest remainder).
 */

/** What a report groups by: a fixed dimension, or a run tag (`tag:team`). */
export const costBySchema = z.union([
  z.enum(['experiment', 'model', 'deployment', 'run']),
  z.string().regex(/^tag:[^\s]{1,250}$/, "'experiment', 'model', 'deployment', 'run' or 'tag:<key>'"),
]);
export type CostBy = z.infer<typeof costBySchema>;

const instant = z.union([z.number().int().nonnegative(), z.string().min(1)]);

export const costReportQuerySchema = z.strictObject({
  by: costBySchema.default('experiment'),
  /** Inclusive; default: 30 days before `to`. */
  from: instant.optional(),
  /** Exclusive; default: now. */
  to: instant.optional(),
  /** 'auto' (the period of equal length just before) or '<from>..<to>'. */
  compare: z.string().min(1).max(100).optional(),
  /** Only the top N groups (and contributors); the rest are summed in `omitted`. Default: all. */
  limit: z.number().int().positive().max(1_000_000).optional(),
  /** Also rank the causes of the change (sweeps, deployments, experiments); implies compare 'auto'. */
  causes: z.boolean().optional(),
});
export type CostReportQuery = z.input<typeof costReportQuerySchema>;

export const costGroupSchema = z.object({
  key: z.string(),
  amount: z.number(),
  /** max(requested, used) x price. */
  allocated: z.number(),
  /** Capacity paid for but not allocated (a deployment's instance beyond its CPU and memory). */
  idle: z.number(),
  share: z.number(),
  usageRows: z.number(),
  cpuHours: z.number(),
  gpuHours: z.number(),
  /** Storage held (GiB x months), where the group holds any. */
  storageGibMonths: z.number().optional(),
  /** Deployments: predictions served in the period and the cost per 1,000 of them. */
  predictions: z.number().optional(),
  per1kPredictions: z.number().nullable().optional(),
});
export type CostGroup = z.infer<typeof costGroupSchema>;

export const costContributorSchema = z.object({
  key: z.string(),
  current: z.number(),
  previous: z.number(),
  delta: z.number(),
  /** This contributor's share of the total change (signed). */
  shareOfChange: z.number().nullable(),
});

/** What a cause of a change is: one entity every usage record goes to exactly once. */
export const COST_CAUSE_ENTITIES = [
  'sweep',
  'parent_run',
  'deployment',
  'experiment',
  'dataset',
  'model_versions',
  'other',
] as const;

/** How a cause is classified, from its evidence. */
export const COST_CAUSE_KINDS = [
  'sweep_without_early_stopping',
  'sweep',
  'parent_run',
  'idle_deployment',
  'deployment',
  'large_experiment',
  'experiment',
  'storage',
  'other',
] as const;

/**
 * One cause of a change between two periods: an entity (a sweep or other parent run with its child
 * runs, a deployment, the rest of an experiment's runs, a dataset's storage), its cost in both, and a
 * one-line reason from its evidence ("sweep without early stopping (64 trials, none stopped)").
 */
export const costCauseSchema = z.object({
  entity: z.enum(COST_CAUSE_ENTITIES),
  /** The run id, deployment name, experiment name or dataset label. */
  key: z.string(),
  /** As people read it: "sweep tune-nightly (run_...) in experiment gpu-tuning". */
  label: z.string(),
  kind: z.enum(COST_CAUSE_KINDS),
  reason: z.string(),
  current: z.number(),
  previous: z.number(),
  delta: z.number(),
  /** This cause's share of the total change (signed). */
  shareOfChange: z.number().nullable(),
  /** The figures the reason is drawn from (trials, stopped, idleShare, runs, gpuHours...). */
  evidence: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
});
export type CostCause = z.infer<typeof costCauseSchema>;

export const costReportSchema = z.object({
  by: z.string(),
  from: z.string(),
  to: z.string(),
  currency: z.string(),
  priceBookVersion: z.number().nullable(),
  total: z.number(),
  allocated: z.number(),
  idle: z.number(),
  usageRows: z.number(),
  groups: z.array(costGroupSchema),
  /** Groups past `limit`: how many, and what they cost together (totals still count them). */
  omitted: z.object({ groups: z.number(), amount: z.number() }).optional(),
  /** Resources with usage but no price in force: they count 0 and are named here. */
  unpriced: z.array(z.string()),
  compare: z
    .object({
      from: z.string(),
      to: z.string(),
      total: z.number(),
      delta: z.number(),
      ratio: z.number().nullable(),
      contributors: z.array(costContributorSchema),
      /** Contributors past `limit`. */
      omittedContributors: z.number().optional(),
    })
    .optional(),
  /** The causes of the change, largest move in the change's direction first (asked with causes). */
  causes: z.array(costCauseSchema).optional(),
  /** Causes past `limit`. */
  omittedCauses: z.number().optional(),
});
export type CostReport = z.infer<typeof costReportSchema>;
