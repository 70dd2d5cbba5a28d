import { z } from 'zod';

/*
 * Contracts of pipeline triggers, shared by the API, the CLI and the client. A trigger names one
 * occasion (`on`), the pipeline it starts, the params it passes (templated from the occasion) and what
 * to do when a run of that pipeline is still active (`concurrency`). Times are ISO-8601 in the API.
 */

export const TRIGGER_KINDS = ['cron', 'dataset', 'event', 'manual'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

/** skip: drop the firing; queue: start it when the active run ends; cancel-older: cancel, then start. */
export const concurrencyPolicySchema = z.enum(['skip', 'queue', 'cancel-older']);
export type ConcurrencyPolicy = z.infer<typeof concurrencyPolicySchema>;

export const FIRING_STATUSES = ['pending', 'started', 'skipped', 'queued', 'failed'] as const;
export type FiringStatus = (typeof FIRING_STATUSES)[number];

const nameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be 1-100 characters of a-z, 0-9, ".", "_" and "-"');

/** A dataset name pattern: `*` matches any run of characters, `?` one character. */
const datasetPatternSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._*?\-/]+$/, 'must be a dataset name pattern (letters, digits, . _ - / and * ?)');

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const triggerOnSchema = z.union([
  z.strictObject({ cron: z.string().min(1).max(200) }),
  z.strictObject({ dataset: datasetPatternSchema }),
  z.strictObject({
    event: z.strictObject({
      types: z.array(z.string().min(1).max(200)).min(1).max(20),
      /** Fires only for events whose payload has these values (top-level fields, equality). */
      where: z.record(z.string().min(1).max(100), scalar).optional(),
    }),
  }),
  z.strictObject({ manual: z.literal(true) }),
]);
export type TriggerOn = z.infer<typeof triggerOnSchema>;

/** A trigger as written in trigger.yaml or POSTed to /api/v1/triggers. */
export const createTriggerInputSchema = z.strictObject({
  name: nameSchema,
  pipeline: z.string().min(1).max(200),
  description: z.string().max(500).optional(),
  on: triggerOnSchema,
  /** Params for the run; strings may hold `${{ event.<field> }}` and `${{ trigger.name }}`. */
  params: z.record(z.string().min(1).max(100), z.unknown()).default({}),
  concurrency: concurrencyPolicySchema.default('queue'),
});
export type CreateTriggerInput = z.input<typeof createTriggerInputSchema>;
export type TriggerSpec = z.output<typeof createTriggerInputSchema>;

export const triggerSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(TRIGGER_KINDS),
  pipeline: z.string(),
  description: z.string().optional(),
  on: triggerOnSchema,
  params: z.record(z.string(), z.unknown()),
  concurrency: concurrencyPolicySchema,
  /** Where polling resumes (cron: the last slot fired; dataset: the last version seen). */
  cursor: z.string().optional(),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type Trigger = z.infer<typeof triggerSchema>;

export const firingSchema = z.object({
  id: z.string(),
  triggerId: z.string(),
  key: z.string(),
  status: z.enum(FIRING_STATUSES),
  runId: z.string().optional(),
  params: z.record(z.string(), z.unknown()),
  error: z.string().optional(),
  actor: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Firing = z.infer<typeof firingSchema>;

/** What one fire() did: the firing, and whether this call made it (false: its key had fired before). */
export const fireResultSchema = z.object({ firing: firingSchema, duplicate: z.boolean() });
export type FireResult = z.infer<typeof fireResultSchema>;

/** A manual or API firing: an optional dedup key and values the params' `${{ event.x }}` read. */
export const fireTriggerInputSchema = z.strictObject({
  key: z.string().min(1).max(200).optional(),
  event: z.record(z.string(), z.unknown()).optional(),
});
export type FireTriggerInput = z.infer<typeof fireTriggerInputSchema>;

export const triggerRefSchema = z.string().min(1).max(200);
