import { z } from 'zod';
import { aliasEventSchema, environmentSchema, modelFormatSchema } from '../../registry/registry.schema.js';
import { predictionSchema } from '../../serving/serving.schema.js';
import { lineageEdgeSchema, lineageNodeSchema } from '../lineage.schema.js';

/*
 * A prediction traced back to its origins, as the API, the CLI and the web see it:
 *   prediction -> model version (+ the alias it was served under, who held that alias at that moment,
 *   the move that put it there and its approvals) -> training run -> dataset versions (hashes, sources,
 *   quality) -> their upstream lineage.
 * A link that cannot be followed (a model uploaded from a file has no run; a run or version was deleted)
 * leaves its section null or short and is named in `gaps`, so a trace never fails half-way.
 */

export const traceLinkSchema = z.enum([
  'deployment',
  'model_version',
  'alias',
  'run',
  'dataset_version',
  'quality',
  'upstream',
]);
export type TraceLink = z.infer<typeof traceLinkSchema>;

/** A link the trace could not follow, and why. */
export const traceGapSchema = z.object({
  link: traceLinkSchema,
  /** What it would have followed (a run id, a dataset version id, `model@n`), when known. */
  ref: z.string().nullable(),
  reason: z.string(),
});
export type TraceGap = z.infer<typeof traceGapSchema>;

export const traceDeploymentSchema = z.object({
  id: z.string(),
  name: z.string(),
  model: z.string(),
  ref: z.string(),
});

export const traceSignatureSchema = z.object({
  inputs: z.array(z.object({ name: z.string(), type: z.string() })),
  outputs: z.array(z.object({ name: z.string(), type: z.string() })),
  task: z.string().nullable(),
  target: z.string().nullable(),
  classes: z.array(z.union([z.string(), z.number()])).nullable(),
});
export type TraceSignature = z.infer<typeof traceSignatureSchema>;

export const traceModelVersionSchema = z.object({
  id: z.string(),
  /** `<model>@<n>`. */
  ref: z.string(),
  model: z.string(),
  version: z.number().int(),
  sha256: z.string(),
  size: z.number(),
  format: modelFormatSchema,
  source: z.string(),
  signature: traceSignatureSchema.nullable(),
  codeCommit: z.string().nullable(),
  command: z.string().nullable(),
  params: z.record(z.string(), z.string()),
  metrics: z.record(z.string(), z.number()),
  environment: environmentSchema,
  /** The aliases it holds now (the trace's `alias` section says what held at serving time). */
  aliasesNow: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type TraceModelVersion = z.infer<typeof traceModelVersionSchema>;

/** The alias a prediction was served under, as it stood at the moment of serving. */
export const traceAliasSchema = z.object({
  name: z.string(),
  /** The serving time the registry was asked about. */
  at: z.string(),
  /** The version that held the alias at that moment (null: nobody did). */
  holder: z.number().int().nullable(),
  /** False when the served version was not the holder then (a canary challenger, or a swap in flight). */
  servedByHolder: z.boolean(),
  /**
   * True when the prediction was served under this alias (the deployment followed it); false when the
   * deployment pinned the version and this is an alias the version happened to hold at that moment.
   */
  servedUnder: z.boolean(),
  /** The move that installed the holder: who, when, kind, reason, and the approvals behind it. */
  since: aliasEventSchema.nullable(),
  /** The promotion request behind that move (who asked for it, and why), when it went through one. */
  request: z
    .object({
      id: z.string(),
      requestedBy: z.string(),
      reason: z.string().nullable(),
      createdAt: z.string(),
      status: z.string(),
    })
    .nullable(),
});
export type TraceAlias = z.infer<typeof traceAliasSchema>;

export const traceRunSchema = z.object({
  id: z.string(),
  name: z.string(),
  experimentId: z.string(),
  status: z.string(),
  /** 'deleted' when the run was deleted after training (it is still shown). */
  lifecycleStage: z.string(),
  user: z.string(),
  startTime: z.string(),
  endTime: z.string().nullable(),
  gitCommit: z.string().nullable(),
  gitDirty: z.boolean().nullable(),
  command: z.string().nullable(),
  params: z.record(z.string(), z.string()),
  /** The last value of each metric (NaN and infinities as strings, as the tracking API sends them). */
  metrics: z.record(z.string(), z.union([z.number(), z.string()])),
  /** Environment facts from the run's tags (node, os, lockfile), key without the `sextant.env.` prefix. */
  environment: z.record(z.string(), z.string()),
  tags: z.record(z.string(), z.string()),
});
export type TraceRun = z.infer<typeof traceRunSchema>;

/** The newest result of one quality suite on a dataset version. */
export const traceQualitySchema = z.object({
  suite: z.string(),
  passed: z.boolean(),
  /** Expectations checked and failed. */
  total: z.number().int(),
  failed: z.number().int(),
  at: z.string(),
  by: z.string(),
});
export type TraceQuality = z.infer<typeof traceQualitySchema>;

export const traceDatasetSchema = z.object({
  id: z.string(),
  /** `<dataset>@<n>`. */
  ref: z.string(),
  dataset: z.string(),
  number: z.number().int(),
  digest: z.string(),
  source: z.string().nullable(),
  pii: z.boolean(),
  createdAt: z.string(),
  createdBy: z.string(),
  files: z.array(z.object({ path: z.string(), sha256: z.string(), size: z.number() })),
  tables: z.array(z.object({ path: z.string(), format: z.string(), rowCount: z.number() })),
  /** Rows over all tables; null when no table was profiled. */
  rowCount: z.number().nullable(),
  /** Null when quality results could not be read (see gaps); [] when no suite was ever run. */
  quality: z.array(traceQualitySchema).nullable(),
  /** What it came from: parent versions, producing runs and their inputs (the root left out). */
  upstream: z.array(lineageNodeSchema),
  upstreamEdges: z.array(lineageEdgeSchema),
});
export type TraceDataset = z.infer<typeof traceDatasetSchema>;

export const predictionTraceSchema = z.object({
  prediction: predictionSchema,
  deployment: traceDeploymentSchema.nullable(),
  modelVersion: traceModelVersionSchema.nullable(),
  alias: traceAliasSchema.nullable(),
  run: traceRunSchema.nullable(),
  datasets: z.array(traceDatasetSchema),
  gaps: z.array(traceGapSchema),
});
export type PredictionTrace = z.infer<typeof predictionTraceSchema>;

/** `?format=text` gives the human view (text/plain). */
export const traceQuerySchema = z.strictObject({ format: z.enum(['json', 'text']).default('json') });
