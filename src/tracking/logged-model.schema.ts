import { z } from 'zod';
import { keySchema, LIMITS } from './tracking.schema.js';

/*
 * Contracts of logged models (MLflow 3): a model logged to an experiment, usually by a run, whose files
 * the client uploads after creating it and then marks READY (or FAILED) by finalizing it.
 */

export const loggedModelStatusSchema = z.enum(['PENDING', 'READY', 'FAILED']);
export type LoggedModelStatus = z.infer<typeof loggedModelStatusSchema>;

export const loggedModelIdSchema = z
  .string()
  .regex(/^m-[0-9a-z]{1,64}$/, 'must be a logged model id (m-...)');

export const loggedModelKeyValueSchema = z.strictObject({
  key: keySchema,
  value: z.string().max(LIMITS.paramValueLength),
});

export const createLoggedModelSchema = z.strictObject({
  experimentId: z.string().regex(/^\d{1,15}$/, 'must be a numeric experiment id'),
  name: z.string().trim().min(1).max(LIMITS.nameLength).optional(),
  modelType: z.string().max(LIMITS.nameLength).optional(),
  sourceRunId: z.string().min(1).max(256).optional(),
  params: z.array(loggedModelKeyValueSchema).max(LIMITS.batchParams).default([]),
  tags: z.array(loggedModelKeyValueSchema).max(LIMITS.batchTags).default([]),
});
export type CreateLoggedModelInput = z.input<typeof createLoggedModelSchema>;

export interface LoggedModel {
  id: string;
  experimentId: string;
  name: string;
  modelType: string | null;
  sourceRunId: string | null;
  status: LoggedModelStatus;
  statusMessage: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  lifecycleStage: 'active' | 'deleted';
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Every metric value linked to the model (MLflow 3's `log_metric(..., model_id=...)`), oldest first. */
  metrics: LoggedModelMetric[];
  /**
   * Where the client uploads the files, through the proxy: inside the source run's artifacts, or for a
   * model without a run, under the model itself (`<experiment location>/models/<id>/artifacts`).
   */
  artifactUri: string;
  /** The folder of the source run's artifacts that holds the files (a model without a run: its own root). */
  artifactPath: string;
}

/** A metric value linked to a logged model: measured by a run, optionally on a named dataset. */
export interface LoggedModelMetric {
  key: string;
  /** NaN and ±Infinity travel as MLflow's strings. */
  value: number | 'NaN' | 'Infinity' | '-Infinity';
  timestamp: number;
  step: number;
  runId: string;
  datasetName: string | null;
  datasetDigest: string | null;
}

/** The folder, inside its source run's artifacts, that holds a logged model's files. */
export function loggedModelArtifactPath(modelId: string): string {
  return `models/${modelId}`;
}

/** A link between a run and a logged model: the run produced it (output) or read it (input). */
export interface RunModelLink {
  runId: string;
  modelId: string;
  direction: 'input' | 'output';
  step: number;
}
