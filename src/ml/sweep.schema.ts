import { z } from 'zod';
import type { TrainerKind } from './trainers/index.js';

/*
 * One sweep trial as a job carries it (`sweep.trial`): everything a worker on any machine needs to fit
 * and record the trial, and nothing of the other trials. The dataset ref is the resolved
 * `<name>@<number>`, so every trial of a sweep trains on the same immutable version.
 */

export const sweepTrialPayloadSchema = z.strictObject({
  /** The sweep's parent run; its median-stopping board is keyed by it. */
  sweepId: z.string().min(1).max(200),
  experimentId: z.string().min(1).max(200),
  /** 0-based index of the trial in the sweep. */
  trial: z.number().int().min(0).max(9_999),
  /** The params this trial varies (its row in the sweep's table). */
  params: z.record(z.string(), z.string()),
  spec: z.strictObject({
    datasetRef: z.string().min(3).max(400),
    target: z.string().min(1),
    kind: z.enum(['linear', 'gbdt'] as const satisfies readonly TrainerKind[]),
    task: z.enum(['classification', 'regression']).optional(),
    params: z.record(z.string(), z.union([z.string(), z.number()])),
    seed: z.number().int().min(0),
    valFraction: z.number().gt(0).lt(1),
    features: z.array(z.string()).optional(),
  }),
  /** The median rule, or null when early stopping is off. */
  rule: z
    .strictObject({
      warmup: z.number().int().min(0),
      minTrials: z.number().int().min(0),
      higherIsBetter: z.boolean(),
    })
    .nullable(),
  /** The validation metric the sweep ranks trials by (val_roc_auc, val_rmse). */
  objective: z.string().min(1),
  runName: z.string().min(1).max(500),
  tags: z.record(z.string(), z.string()),
  gitCommit: z.string().optional(),
  gitDirty: z.boolean().optional(),
});
export type SweepTrialPayload = z.infer<typeof sweepTrialPayloadSchema>;

const trialStatusSchema = z.enum(['FINISHED', 'FAILED', 'CANCELLED']);

/** How one trial ended, as a trial job's result (JSON: a score that is not a number reads null). */
export const trialResultSchema = z.object({
  /** 1-based, as shown. */
  trial: z.number().int(),
  params: z.record(z.string(), z.string()),
  runId: z.string().optional(),
  status: trialStatusSchema,
  objective: z.number().nullable().optional(),
  iterations: z.number().int().optional(),
  earlyStopped: z.boolean().optional(),
  error: z.string().optional(),
});
