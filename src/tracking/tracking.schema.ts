import { z } from 'zod';

/*
 * Contracts of the tracking domain, shared by the native API, the CLI, the client and the web UI.
 * Limits follow MLflow's so that anything an MLflow client may send is accepted, and nothing more.
 */
export const LIMITS = {
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  nameLength: 500,
  batchMetrics: 1000,
  batchParams: 100,
  batchTags: 100,
  batchTotal: 1000,
  artifactPathLength: 1024,
} as const;

export const runStatusSchema = z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']);
export type RunStatus = z.infer<typeof runStatusSchema>;
export const lifecycleStageSchema = z.enum(['active', 'deleted']);
export type LifecycleStage = z.infer<typeof lifecycleStageSchema>;
export const viewTypeSchema = z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']);
export type ViewType = z.infer<typeof viewTypeSchema>;

const KEY_CHARS = /^[\w\-. /:]+$/;
const KEY_CHARS_MESSAGE = 'may contain only letters, digits, _ - . space / :';
// One regex rather than a split: keys are checked a thousand times per log-batch.
const KEY_SEGMENTS = /^(?!\/)(?!(?:.*\/)?\.\.?(?:\/|$))/;
const KEY_SEGMENTS_MESSAGE = 'may not contain "." or ".." path segments or start with "/"';

/** Keys of params, metrics and tags: MLflow's rule (letters, digits, _ - . space / :), no `..` segment. */
export const keySchema = z
  .string()
  .min(1)
  .max(LIMITS.keyLength)
  .regex(KEY_CHARS, KEY_CHARS_MESSAGE)
  .regex(KEY_SEGMENTS, KEY_SEGMENTS_MESSAGE);

/**
 * keySchema's rule as a plain function for hand-written checkers on hot paths: what is wrong with
 * `key`, or undefined when it is a valid key, e.g. keyProblem('a/../b') names the ".." segment.
 */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'must be a string';
  if (key.length < 1 || key.length > LIMITS.keyLength)
    return `must be 1 to ${LIMITS.keyLength} characters long`;
  if (!KEY_CHARS.test(key)) return KEY_CHARS_MESSAGE;
  if (!KEY_SEGMENTS.test(key)) return KEY_SEGMENTS_MESSAGE;
  return undefined;
}

export const nameSchema = z.string().trim().min(1).max(LIMITS.nameLength);
export const experimentIdSchema = z.string().regex(/^\d{1,15}$/, 'must be a numeric experiment id');
export const runIdSchema = z.string().regex(/^[a-zA-Z0-9][\w-]{0,255}$/, 'must be a run id');

/** Metric values: finite numbers, or NaN / ±Infinity as MLflow allows (written as strings in JSON). */
export const metricValueSchema = z.union([
  // z.number() refuses NaN and ±Infinity, which MLflow accepts as metric values.
  z.custom<number>((v) => typeof v === 'number', { message: 'must be a number' }),
  z.enum(['NaN', 'Infinity', '-Infinity']).transform((s) => Number(s)),
]);

/**
 * The last millisecond of year 9999. Timestamps are epoch ms; a longer digit string (MLflow sends int64
 * as strings) would otherwise become a float such as 1e23 and be stored as a time nobody can show.
 */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;
/** Epoch milliseconds between 1970 and the end of year 9999. */
export const timestampSchema = z
  .number()
  .max(MAX_TIMESTAMP_MS, 'must be epoch milliseconds before year 10000')
  .min(0, 'must be epoch milliseconds, not negative')
  .int();
/** A step: an integer JavaScript holds exactly (MLflow's int64, within ±2^53). */
export const stepSchema = z
  .number()
  .int()
  .min(Number.MIN_SAFE_INTEGER, 'must be an integer within ±2^53')
  .max(Number.MAX_SAFE_INTEGER, 'must be an integer within ±2^53');

export const metricInputSchema = z.strictObject({
  key: keySchema,
  value: metricValueSchema,
  timestamp: timestampSchema.optional(),
  step: stepSchema.default(0),
  /** MLflow 3: the logged model the value measures (kept on the run and on the model). */
  modelId: z
    .string()
    .regex(/^m-[0-9a-z]{1,64}$/, 'must be a logged model id (m-...)')
    .optional(),
  /** MLflow 3: the dataset the value was measured on (stored with a model-linked value only). */
  datasetName: z.string().max(500).optional(),
  datasetDigest: z.string().max(256).optional(),
});
export type MetricInput = z.input<typeof metricInputSchema>;

export const paramInputSchema = z.strictObject({
  key: keySchema,
  value: z.string().max(LIMITS.paramValueLength),
});
export const tagInputSchema = z.strictObject({
  key: keySchema,
  value: z.string().max(LIMITS.tagValueLength),
});

export const tagsRecordSchema = z.record(keySchema, z.string().max(LIMITS.tagValueLength));

export const experimentSchema = z.object({
  id: z.string(),
  name: z.string(),
  artifactLocation: z.string(),
  lifecycleStage: lifecycleStageSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
  tags: z.record(z.string(), z.string()),
});
export type Experiment = z.infer<typeof experimentSchema>;

export const metricSchema = z.object({
  key: z.string(),
  /** NaN and ±Infinity travel as the strings "NaN", "Infinity", "-Infinity". */
  value: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]),
  timestamp: z.number(),
  step: z.number(),
});
export type Metric = z.infer<typeof metricSchema>;

export const runInputSchema = z.object({
  id: z.string(),
  direction: z.enum(['input', 'output']),
  kind: z.string(),
  name: z.string(),
  digest: z.string(),
  source: z.string().nullable(),
  sourceType: z.string().nullable(),
  schema: z.string().nullable(),
  profile: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  datasetVersionId: z.string().nullable(),
});
export type RunInput = z.infer<typeof runInputSchema>;

export const runSchema = z.object({
  id: z.string(),
  experimentId: z.string(),
  name: z.string(),
  status: runStatusSchema,
  lifecycleStage: lifecycleStageSchema,
  userId: z.string(),
  startTime: z.string(),
  endTime: z.string().nullable(),
  artifactUri: z.string(),
  gitCommit: z.string().nullable(),
  gitDirty: z.boolean().nullable(),
  command: z.string().nullable(),
  params: z.record(z.string(), z.string()),
  metrics: z.array(metricSchema),
  tags: z.record(z.string(), z.string()),
  inputs: z.array(runInputSchema),
});
export type Run = z.infer<typeof runSchema>;

export const artifactEntrySchema = z.object({
  path: z.string(),
  isDir: z.boolean(),
  size: z.number().nullable(),
  sha256: z.string().nullable(),
});
export type ArtifactEntry = z.infer<typeof artifactEntrySchema>;

export const createExperimentBodySchema = z.strictObject({
  name: nameSchema,
  artifactLocation: z.string().max(2000).optional(),
  tags: tagsRecordSchema.optional(),
});

export const createRunBodySchema = z.strictObject({
  experimentId: experimentIdSchema.default('0'),
  name: nameSchema.optional(),
  startTime: timestampSchema.optional(),
  userId: z.string().min(1).max(256).optional(),
  tags: tagsRecordSchema.optional(),
  gitCommit: z
    .string()
    .regex(/^[0-9a-f]{7,64}$/, 'must be a hex commit id')
    .optional(),
  gitDirty: z.boolean().optional(),
  command: z.string().max(10_000).optional(),
});
export type CreateRunInput = z.infer<typeof createRunBodySchema>;

export const updateRunBodySchema = z.strictObject({
  status: runStatusSchema.optional(),
  endTime: timestampSchema.optional(),
  name: nameSchema.optional(),
});

export const logBatchBodySchema = z
  .strictObject({
    metrics: z.array(metricInputSchema).max(LIMITS.batchMetrics).default([]),
    params: z.array(paramInputSchema).max(LIMITS.batchParams).default([]),
    tags: z.array(tagInputSchema).max(LIMITS.batchTags).default([]),
  })
  .refine((b) => b.metrics.length + b.params.length + b.tags.length <= LIMITS.batchTotal, {
    message: `a batch holds at most ${LIMITS.batchTotal} metrics, params and tags in total`,
    path: ['metrics'],
  });
export type LogBatchInput = z.input<typeof logBatchBodySchema>;
/** A validated batch, as the run service takes it. */
export type LogBatch = z.output<typeof logBatchBodySchema>;

export const logInputsBodySchema = z.strictObject({
  datasets: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(500),
        digest: z.string().min(1).max(256),
        sourceType: z.string().max(64).optional(),
        source: z.string().max(65_535).optional(),
        schema: z.string().max(1_048_576).optional(),
        profile: z.string().max(1_048_576).optional(),
        tags: tagsRecordSchema.optional(),
        datasetVersionId: z.string().max(256).optional(),
      }),
    )
    .max(100),
  direction: z.enum(['input', 'output']).default('input'),
});
export type LogInputsInput = z.input<typeof logInputsBodySchema>;

export const pageQuerySchema = z.object({
  maxResults: z.coerce.number().int().min(1).max(50_000).default(100),
  pageToken: z.string().max(1000).optional(),
});

/** A runs/search query in the native API (MLflow's filter grammar and order_by terms). */
export const runSearchQuerySchema = z.strictObject({
  experimentIds: z.array(experimentIdSchema).min(1).max(1000).default(['0']),
  filter: z.string().max(10_000).optional(),
  orderBy: z.array(z.string().max(500)).max(10).optional(),
  runViewType: viewTypeSchema.optional(),
  maxResults: z.number().int().min(1).max(50_000).optional(),
  pageToken: z.string().max(1000).optional(),
});
export type RunSearchQuery = z.input<typeof runSearchQuerySchema>;
