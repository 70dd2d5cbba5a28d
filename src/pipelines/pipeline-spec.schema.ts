import { z } from 'zod';

/*
 * The pipeline spec (YAML on disk, JSON in the database) and the API contracts of pipelines, shared by
 * the API, the CLI, the client and the web UI. Objects are strict: a misspelt key is an error naming
 * its path (`steps.train.timout`), not a silently ignored field.
 */

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const pipelineNameSchema = z.string().regex(NAME, 'lower-case letters, digits, - and _');
const stepNameSchema = z.string().regex(NAME, 'step names: lower-case letters, digits, - and _');

/** A param's declared type; `--param k=v` strings are coerced to it. */
export const PARAM_TYPES = ['string', 'number', 'integer', 'boolean'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

const paramSchema = z.strictObject({
  type: z.enum(PARAM_TYPES),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  description: z.string().max(500).optional(),
});

/** Seconds, or a string like `90s`, `5m`, `2h`. */
const durationSchema = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration like 30s, 5m or 2h'),
]);

/** `name@3` or `name@latest`. */
export const datasetRefSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*@(latest|\d+)$/, 'a dataset reference name@<version>|latest');

const inputSchema = z.union([
  z.strictObject({ dataset: z.union([datasetRefSchema, z.string().regex(/\$\{\{/)]) }),
  z.string().max(4_000),
  z.number(),
  z.boolean(),
]);

const outputSchema = z.strictObject({
  /** A file the step writes (relative to the run's workdir); stored as a blob, restored on a cache hit. */
  file: z.string().min(1).max(1_000).optional(),
  /** With file: the file becomes a new version of this dataset. */
  dataset: z.string().min(1).max(200).optional(),
  description: z.string().max(500).optional(),
});

const envSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
  z.string(),
);

export const BUILTIN_STEPS = ['validate', 'train', 'evaluate', 'sweep', 'register', 'promote'] as const;
export type BuiltinStep = (typeof BUILTIN_STEPS)[number];

/** What each built-in step answers, by output name (what `${{ steps.x.outputs.<name> }}` may name). */
export const BUILTIN_OUTPUTS: Record<BuiltinStep, readonly string[]> = {
  validate: ['passed', 'report'],
  train: ['run', 'model', 'metrics'],
  evaluate: ['metrics', 'run'],
  sweep: ['run', 'best', 'metric', 'metrics', 'model'],
  register: ['model', 'version'],
  promote: ['request', 'status'],
};

const stepBaseShape = {
  needs: z.array(stepNameSchema).max(100).optional(),
  inputs: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an input name'), inputSchema).optional(),
  env: envSchema.optional(),
  timeout: durationSchema.optional(),
  retries: z.number().int().min(0).max(10).optional(),
  resources: z
    .strictObject({
      cpu: z.number().positive().optional(),
      memory: z.string().max(20).optional(),
      gpu: z.number().int().min(0).optional(),
    })
    .optional(),
  /** Only workers offering every tag run this step (`sextant worker --tags gpu`). */
  tags: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a worker tag'))
    .max(4)
    .optional(),
  /** Files whose content joins the step's cache key (otherwise the git tree, when there is one). */
  code: z.array(z.string().min(1).max(1_000)).max(100).optional(),
  /** false: never cached (steps with effects outside their outputs). */
  cache: z.boolean().optional(),
};

const runStepSchema = z.strictObject({
  ...stepBaseShape,
  run: z.string().min(1).max(20_000),
  outputs: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an output name'), outputSchema).optional(),
});

const usesStepSchema = z.strictObject({
  ...stepBaseShape,
  uses: z.string().regex(/^sextant\/[a-z-]+$/, 'a built-in step: sextant/<name>'),
  with: z.record(z.string(), z.unknown()).optional(),
});

export const stepSpecSchema = z.union([runStepSchema, usesStepSchema]);
export type StepSpec = z.infer<typeof stepSpecSchema>;
export type RunStepSpec = z.infer<typeof runStepSchema>;
export type UsesStepSpec = z.infer<typeof usesStepSchema>;

export const pipelineSpecSchema = z.strictObject({
  name: pipelineNameSchema,
  description: z.string().max(2_000).optional(),
  params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a param name'), paramSchema).optional(),
  env: envSchema.optional(),
  steps: z.record(stepNameSchema, z.unknown()),
});
export type PipelineSpec = Omit<z.infer<typeof pipelineSpecSchema>, 'steps'> & {
  steps: Record<string, StepSpec>;
};

export const PIPELINE_RUN_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export const pipelineRunStatusSchema = z.enum(PIPELINE_RUN_STATUSES);
export type PipelineRunStatus = z.infer<typeof pipelineRunStatusSchema>;

export const STEP_STATUSES = [
  'pending',
  'queued',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'cached',
  'cancelled',
] as const;
export const stepStatusSchema = z.enum(STEP_STATUSES);
export type StepStatus = z.infer<typeof stepStatusSchema>;

/** True when nothing more will happen to a step in this status. */
export function isStepDone(s: StepStatus): boolean {
  return s === 'succeeded' || s === 'failed' || s === 'skipped' || s === 'cached' || s === 'cancelled';
}

export const TRIGGER_KINDS = ['manual', 'cron', 'dataset', 'event', 'api'] as const;
export const triggerSchema = z.strictObject({
  kind: z.enum(TRIGGER_KINDS),
  key: z.string().min(1).max(300),
  triggerId: z.string().max(100).optional(),
});

export const pipelineSchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.number().int(),
  digest: z.string(),
  spec: z.unknown(),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type Pipeline = z.infer<typeof pipelineSchema>;

export const pipelineStepSchema = z.object({
  name: z.string(),
  status: stepStatusSchema,
  deps: z.array(z.string()),
  attempt: z.number().int(),
  jobId: z.string().nullable(),
  cacheKey: z.string().nullable(),
  outputs: z.record(z.string(), z.unknown()).nullable(),
  exitCode: z.number().int().nullable(),
  logTail: z.string().nullable(),
  error: z.string().nullable(),
  trackingRunId: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type PipelineStep = z.infer<typeof pipelineStepSchema>;

export const pipelineRunSchema = z.object({
  id: z.string(),
  pipeline: z.string(),
  version: z.number().int(),
  status: pipelineRunStatusSchema,
  params: z.record(z.string(), z.unknown()),
  trigger: z.object({ kind: z.string(), key: z.string(), triggerId: z.string().nullable() }),
  actor: z.string(),
  force: z.boolean(),
  trackingRunId: z.string().nullable(),
  failedStep: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type PipelineRun = z.infer<typeof pipelineRunSchema>;

export const pipelineRunDetailSchema = pipelineRunSchema.extend({ steps: z.array(pipelineStepSchema) });
export type PipelineRunDetail = z.infer<typeof pipelineRunDetailSchema>;

export const pipelineRunIdSchema = z.string().regex(/^plr_[0-9a-z]{26}$/, 'not a pipeline run id (plr_...)');

export const listPipelineRunsQuerySchema = z.strictObject({
  pipeline: pipelineNameSchema.optional(),
  status: pipelineRunStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  pageToken: pipelineRunIdSchema.optional(),
});
export type ListPipelineRunsQuery = z.input<typeof listPipelineRunsQuerySchema>;
export const pipelineRunPageSchema = z.object({
  runs: z.array(pipelineRunSchema),
  nextPageToken: z.string().optional(),
});
export type PipelineRunPage = z.infer<typeof pipelineRunPageSchema>;

/** Log chunks after a cursor: `sextant pipelines logs -f` polls with the last cursor it got. */
export const logChunkSchema = z.object({
  step: z.string(),
  attempt: z.number().int(),
  seq: z.number().int(),
  text: z.string(),
  /** Pass back as `after` to get only what came later. */
  cursor: z.string(),
});
export const logPageSchema = z.object({
  chunks: z.array(logChunkSchema),
  /** The run is finished: no more chunks will come. */
  done: z.boolean(),
  cursor: z.string().nullable(),
});
export type LogPage = z.infer<typeof logPageSchema>;

export const startPipelineBodySchema = z.strictObject({
  /** A registered pipeline's name, or (in-process CLI only) a spec file path. */
  pipeline: z.string().min(1).max(1_000),
  params: z.record(z.string(), z.unknown()).optional(),
  force: z.boolean().optional(),
});
export const createPipelineBodySchema = z.strictObject({ yaml: z.string().min(1).max(1_000_000) });
