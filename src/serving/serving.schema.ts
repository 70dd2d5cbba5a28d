import { z } from 'zod';

/*
 * The contracts of serving, shared by API, CLI, client and web: deployments, the predictions they
 * log, and delayed labels. Times are ISO-8601 in the API.
 */

export const deploymentNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'letters, digits, dot, dash and underscore; starts with a letter or digit',
  );

export const ledgerModeSchema = z.enum(['durable', 'async']);
export type LedgerMode = z.infer<typeof ledgerModeSchema>;

export const challengerModeSchema = z.enum(['shadow', 'canary']);
export type ChallengerMode = z.infer<typeof challengerModeSchema>;

export const challengerSchema = z.object({
  /** An alias name or a version number (as digits) of the same model. */
  ref: z.string(),
  mode: challengerModeSchema,
  /** Canary only: the share of request keys (0-100) the challenger answers. */
  percent: z.number().min(0).max(100).nullable(),
});
export type Challenger = z.infer<typeof challengerSchema>;

/**
 * A deployment's override of its external model's resilience (the gateway): each setting given
 * replaces the model version's own (registered with `models register-endpoint`); the others stay.
 */
export const deploymentResilienceSchema = z.strictObject({
  /** One upstream attempt's deadline; past it the request fails as UPSTREAM_TIMEOUT (504). */
  timeoutMs: z.number().int().min(10).max(600_000).optional(),
  /** Extra attempts after a refused connection or a 502/503/504 answer. */
  retries: z.number().int().min(0).max(10).optional(),
  /** First backoff between attempts; doubled per attempt. */
  backoffMs: z.number().int().min(0).max(60_000).optional(),
  /** Consecutive failed calls that open the circuit breaker. */
  breakerFailures: z.number().int().min(1).max(1000).optional(),
  /** How long the circuit stays open before one probe call may try again. */
  breakerResetMs: z.number().int().min(10).max(3_600_000).optional(),
});
export type DeploymentResilience = z.infer<typeof deploymentResilienceSchema>;

export const deploymentSchema = z.object({
  id: z.string(),
  name: z.string(),
  model: z.string(),
  /** The registered model's id, which the deployment follows whatever the model is called now. */
  modelId: z.string().nullable(),
  /** An alias name, or a version number as digits (pinned). */
  ref: z.string(),
  challenger: challengerSchema.nullable(),
  ledgerMode: ledgerModeSchema,
  /** The override of its external model's timeout, retries and breaker (null: the version's own). */
  resilience: deploymentResilienceSchema.nullable().optional(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Set once deleted (a deleted deployment is still found by its id, for the predictions it logged). */
  deletedAt: z.string().nullable(),
  /**
   * The latest process that served it (`sextant serve`), from its heartbeat; listings only. `running`
   * is false once it stopped cleanly or missed its beats (a killed process).
   */
  runtime: z
    .object({
      running: z.boolean(),
      address: z.string(),
      host: z.string(),
      pid: z.number(),
      since: z.string(),
      lastBeatAt: z.string(),
      stoppedAt: z.string().nullable(),
    })
    .nullable()
    .optional(),
});
export type Deployment = z.infer<typeof deploymentSchema>;
/** How often a serving process beats; three missed beats and it counts as not running. */
export const HEARTBEAT_INTERVAL_MS = 5000;

/** A serving process's predict requests so far: answered, failed, and the failures by error code. */
export const requestCountsSchema = z.object({
  ok: z.number().int().min(0),
  failed: z.number().int().min(0),
  byCode: z.record(z.string(), z.number().int().min(0)),
});
export type RequestCounts = z.infer<typeof requestCountsSchema>;

/**
 * A deployment's predict requests summed over every process that served it (each one's count as of
 * its last heartbeat): `requests` counts answered and failed ones, `errors` the failed ones.
 */
export const deploymentStatsSchema = z.object({
  deployment: z.string(),
  requests: z.number().int().min(0),
  errors: z.number().int().min(0),
  errorsByCode: z.record(z.string(), z.number().int().min(0)),
  /** When the earliest counted process started; null when none has beaten yet. */
  since: z.string().nullable(),
  /** Serving processes counted (one per process start, replicas included). */
  runtimes: z.number().int().min(0),
});
export type DeploymentStats = z.infer<typeof deploymentStatsSchema>;

export const createDeploymentBodySchema = z.strictObject({
  name: deploymentNameSchema,
  /** `<model>@<alias|n>`. */
  model: z.string().trim().min(3).max(400),
  challenger: z
    .strictObject({
      ref: z.string().trim().min(1).max(200),
      mode: challengerModeSchema,
      percent: z.number().min(0).max(100).optional(),
    })
    .optional(),
  ledgerMode: ledgerModeSchema.optional(),
  resilience: deploymentResilienceSchema.optional(),
});
export type CreateDeploymentInput = z.infer<typeof createDeploymentBodySchema>;

export const updateDeploymentBodySchema = z.strictObject({
  /** `<model>@<alias|n>`: what the deployment follows from now on (running replicas reload). */
  model: createDeploymentBodySchema.shape.model.optional(),
  /** null removes the challenger. */
  challenger: createDeploymentBodySchema.shape.challenger.unwrap().nullable().optional(),
  ledgerMode: ledgerModeSchema.optional(),
  /** Merged into the current override; null drops the whole override (back to the version's settings). */
  resilience: deploymentResilienceSchema.nullable().optional(),
});
export type UpdateDeploymentInput = z.infer<typeof updateDeploymentBodySchema>;

/**
 * What a model answered for one record. `prediction` is the class label (classifiers) or the value
 * (regressors); `probabilities` maps each class to its probability; `outputs` holds the raw named
 * outputs of a model that is not one of Sextant's trainers.
 */
export const predictionOutputSchema = z.object({
  prediction: z.union([z.number(), z.string(), z.null()]),
  probabilities: z.record(z.string(), z.number()).optional(),
  outputs: z.record(z.string(), z.unknown()).optional(),
});
export type PredictionOutput = z.infer<typeof predictionOutputSchema>;

export const predictionRoleSchema = z.enum(['champion', 'challenger']);
export type PredictionRole = z.infer<typeof predictionRoleSchema>;

/** One logged prediction. */
export const predictionSchema = z.object({
  id: z.string(),
  deploymentId: z.string(),
  modelVersionId: z.string(),
  model: z.string(),
  version: z.number().int(),
  alias: z.string().nullable(),
  role: predictionRoleSchema,
  servedAt: z.string(),
  requestKey: z.string().nullable(),
  inputs: z.record(z.string(), z.unknown()),
  /** null when the prediction failed (status 'failed'). */
  outputs: predictionOutputSchema.nullable(),
  /** 'failed' when the model (an external model server) failed the request: see `error`. */
  status: z.enum(['ok', 'failed']),
  /** Why it failed (UPSTREAM_ERROR, UPSTREAM_TIMEOUT and the upstream's message); null when ok. */
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  latencyMs: z.number(),
  shadow: z
    .object({
      modelVersionId: z.string(),
      outputs: predictionOutputSchema.nullable(),
      error: z.string().nullable(),
    })
    .nullable(),
  /** The delayed label, once feedback arrived. */
  label: z
    .object({ value: z.union([z.number(), z.string(), z.boolean()]), receivedAt: z.string() })
    .nullable(),
});
export type Prediction = z.infer<typeof predictionSchema>;

export const predictionIdSchema = z
  .string()
  .trim()
  .regex(/^pred_[0-9a-z]{26}$/, 'a prediction id (pred_...)');

export const listPredictionsQuerySchema = z.strictObject({
  deployment: z.string().trim().min(1).max(100).optional(),
  /** `<model>@<n>` or a model version id (mv_...). */
  modelVersion: z.string().trim().min(1).max(400).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Only the ok or only the failed predictions (default both). */
  status: z.enum(['ok', 'failed']).optional(),
  cursor: z.string().max(200).optional(),
});
export type ListPredictionsQuery = z.input<typeof listPredictionsQuerySchema>;

/** `predictions prune`: drop the sealed segments of the log whose every prediction was served before `before`. */
export const prunePredictionsBodySchema = z.strictObject({ before: z.iso.datetime({ offset: true }) });
export type PrunePredictionsBody = z.infer<typeof prunePredictionsBodySchema>;

/** What a prune dropped: whole segments, their rows and the time they spanned (null when none). */
export const pruneSummarySchema = z.object({
  before: z.string(),
  segments: z.number().int(),
  rows: z.number().int(),
  firstServedAt: z.string().nullable(),
  lastServedAt: z.string().nullable(),
  deployments: z.array(z.string()),
});
export type PruneSummary = z.infer<typeof pruneSummarySchema>;

export const predictionExportFormatSchema = z.enum(['csv', 'jsonl', 'parquet']);
export type PredictionExportFormat = z.infer<typeof predictionExportFormatSchema>;

/** A prediction log export: served in [from, to) (ISO times; `to` defaults to now, `from` to the start). */
export const exportPredictionsQuerySchema = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  format: predictionExportFormatSchema.default('csv'),
});
export type ExportPredictionsQuery = z.input<typeof exportPredictionsQuerySchema>;
/** Headers of a prediction export over HTTP: its row count (taken before streaming) and its window in words. */
export const EXPORT_COUNT_HEADER = 'x-sextant-prediction-count';
export const EXPORT_WINDOW_HEADER = 'x-sextant-export-window';
/** What an export wrote: its rows and its window ("from ... to ..."). */
export interface ExportSummary {
  count: number;
  window: string;
}

export const labelValueSchema = z.union([z.number().finite(), z.string().max(1000), z.boolean()]);

export const feedbackItemSchema = z.strictObject({
  prediction_id: z.string().trim().min(1).max(100),
  /** The true outcome (MLflow-style callers may say `label`, `outcome` or `actual`; one of them). */
  label: labelValueSchema,
});
export type FeedbackItem = z.infer<typeof feedbackItemSchema>;

export const feedbackOutcomeSchema = z.discriminatedUnion('status', [
  z.object({ predictionId: z.string(), status: z.literal('recorded') }),
  /** The same label was already recorded: nothing changes, nothing counts twice. */
  z.object({ predictionId: z.string(), status: z.literal('duplicate') }),
  z.object({
    predictionId: z.string(),
    status: z.literal('failed'),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);
export type FeedbackOutcome = z.infer<typeof feedbackOutcomeSchema>;
