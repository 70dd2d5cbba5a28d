import { z } from 'zod';

export const REAPER_ACTION_KINDS = [
  'worker_exit',
  'deployment_unload',
  'deployment_wake',
  'gpu_idle',
] as const;
export const reaperActionKindSchema = z.enum(REAPER_ACTION_KINDS);
export type ReaperActionKind = z.infer<typeof reaperActionKindSchema>;

export const reaperActionSchema = z.object({
  id: z.string(),
  kind: reaperActionKindSchema,
  target: z.string(),
  at: z.string(),
  idleMs: z.number().nullable(),
  coldStartMs: z.number().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});
export type ReaperAction = z.infer<typeof reaperActionSchema>;

/** What the reaper saved in a window: instance-hours not run because of unloads and exits. */
export const savingsReportSchema = z.object({
  from: z.string(),
  to: z.string(),
  deployments: z.object({
    unloads: z.number().int(),
    wakes: z.number().int(),
    /** Hours deployments spent unloaded in the window (unload to wake, or to the window's end). */
    hoursSaved: z.number(),
    /** Cold starts the waking requests paid (ms). */
    coldStartMs: z.object({
      count: z.number().int(),
      mean: z.number().nullable(),
      max: z.number().nullable(),
    }),
  }),
  workers: z.object({
    exits: z.number().int(),
    /** Upper bound: each exit counts until the window's end (a worker started later is not known here). */
    hoursSaved: z.number(),
  }),
  gpu: z.object({ flagged: z.number().int(), stopped: z.number().int() }),
  /** hoursSaved * the policy's rates; 0 when no rate is set. */
  amountSaved: z.number(),
  currency: z.string(),
});
export type SavingsReport = z.infer<typeof savingsReportSchema>;
