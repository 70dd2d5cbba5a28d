import { z } from 'zod';
import type { Experiment, Metric, Run, RunSummary } from '../../../tracking/index.js';

/*
 * MLflow's JSON is protobuf JSON: int64 fields may arrive as strings, doubles as "NaN"/"Infinity",
 * GET requests carry the same fields as query parameters (repeated ones as repeated parameters).
 */
export const int64 = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number),
]);
export const double = z.union([
  z.number(),
  z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'must be a number')
    .transform(Number),
]);
/** A query parameter that may repeat: always an array. */
export const repeated = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]), z.array(item));

export const keyValue = z.object({ key: z.string(), value: z.string() });
export type KeyValue = z.infer<typeof keyValue>;

export function toKeyValues(record: Record<string, string>): KeyValue[] {
  return Object.entries(record).map(([key, value]) => ({ key, value }));
}

export function fromKeyValues(list: { key: string; value: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((t) => [t.key, t.value]));
}

const ms = (iso: string) => Date.parse(iso);

/** An experiment in MLflow's field names. */
export function mlflowExperiment(e: Experiment) {
  return {
    experiment_id: e.id,
    name: e.name,
    artifact_location: e.artifactLocation,
    lifecycle_stage: e.lifecycleStage,
    creation_time: ms(e.createdAt),
    last_update_time: ms(e.updatedAt),
    tags: toKeyValues(e.tags),
  };
}

/** A run's info block in MLflow's field names. */
export function mlflowRunInfo(r: RunSummary) {
  return {
    run_id: r.id,
    run_uuid: r.id,
    run_name: r.name,
    experiment_id: r.experimentId,
    user_id: r.userId,
    status: r.status,
    start_time: ms(r.startTime),
    ...(r.endTime ? { end_time: ms(r.endTime) } : {}),
    artifact_uri: r.artifactUri,
    lifecycle_stage: r.lifecycleStage,
  };
}

export function mlflowMetric(m: Metric) {
  return { key: m.key, value: m.value, timestamp: m.timestamp, step: m.step };
}

/** A whole run in MLflow's shape: info, data (latest metrics, params, tags) and dataset inputs. */
export function mlflowRun(r: Run) {
  return {
    info: mlflowRunInfo(r),
    data: {
      metrics: r.metrics.map(mlflowMetric),
      params: toKeyValues(r.params),
      tags: toKeyValues(r.tags),
    },
    inputs: mlflowRunInputs(r),
  };
}

/** A run's dataset inputs in MLflow's shape (RunInputs). */
export function mlflowRunInputs(r: Pick<Run, 'inputs'>) {
  return {
    dataset_inputs: r.inputs
      .filter((i) => i.direction === 'input')
      .map((i) => ({
        tags: toKeyValues(i.tags),
        dataset: {
          name: i.name,
          digest: i.digest,
          source_type: i.sourceType ?? '',
          source: i.source ?? '',
          ...(i.schema ? { schema: i.schema } : {}),
          ...(i.profile ? { profile: i.profile } : {}),
        },
      })),
  };
}
