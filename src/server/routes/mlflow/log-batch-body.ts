import { z } from 'zod';
import { ValidationError } from '../../../core/errors.js';
import {
  keyProblem,
  keySchema,
  LIMITS,
  type LogBatch,
  loggedModelIdSchema,
  paramInputSchema,
  tagInputSchema,
} from '../../../tracking/index.js';
import { double as doubleSchema, int64 as int64Schema } from './wire.js';

/*
 * The body of MLflow's runs/log-batch, checked in one pass. A batch holds up to 1,000 metrics, and a
 * schema validator building a result object per metric (and per union branch) cost as much as the
 * whole database write of the batch. This checker walks the parsed JSON once and leaves each metric
 * object in the run service's shape where it lies: int64 and double strings become numbers in place,
 * and the MLflow 3 fields (model_id, dataset_*) are renamed on the rare metric that has them.
 *
 * It keeps the route's declared zod schema's rules (the schema documents the route in the OpenAPI
 * document; log-batch-body.test.ts holds the two to the same verdicts) and its error shape: a
 * ValidationError whose message starts with the field, e.g. "body.metrics.3.value: must be a number".
 */

/** A metric as MLflow's clients send it (log-metric's body, and each item of log-batch's). */
export const wireMetricSchema = z.strictObject({
  key: keySchema,
  value: doubleSchema,
  timestamp: int64Schema,
  step: int64Schema.optional(),
  // MLflow 3: a value measuring a logged model, on a dataset (kept on the run and on the model).
  model_id: loggedModelIdSchema.optional(),
  dataset_name: z.string().max(500).optional(),
  dataset_digest: z.string().max(256).optional(),
  run_id: z.string().optional(),
});

/** runs/log-batch's body as the OpenAPI document shows it; readLogBatchBody applies the same rules. */
export const logBatchBodySchema = z
  .strictObject({
    run_id: z.string().min(1).max(256),
    metrics: z.array(wireMetricSchema).max(LIMITS.batchMetrics).optional(),
    params: z.array(paramInputSchema).max(LIMITS.batchParams).optional(),
    tags: z.array(tagInputSchema).max(LIMITS.batchTags).optional(),
  })
  .refine(
    (b) => (b.metrics?.length ?? 0) + (b.params?.length ?? 0) + (b.tags?.length ?? 0) <= LIMITS.batchTotal,
    {
      message: `a batch holds at most ${LIMITS.batchTotal} metrics, params and tags in total`,
      path: ['metrics'],
    },
  );

type Json = Record<string, unknown>;

const INT64_STRING = /^-?\d+$/;
const DOUBLE_STRING = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const TOP_FIELDS = new Set(['run_id', 'metrics', 'params', 'tags']);
const METRIC_FIELDS = new Set([
  'key',
  'value',
  'timestamp',
  'step',
  'model_id',
  'dataset_name',
  'dataset_digest',
  'run_id',
]);
const KEY_VALUE_FIELDS = new Set(['key', 'value']);

function refuse(field: string, message: string): never {
  throw new ValidationError(`${field}: ${message}`, { field });
}

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function refuseUnknownFields(o: Json, known: Set<string>, at: string): void {
  for (const k in o) if (!known.has(k)) refuse(`${at}.${k}`, `unknown field '${k}'`);
}

/** MLflow's int64: an integer JavaScript holds exactly, or a string of digits (protobuf JSON). */
function int64(v: unknown, field: string): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
  } else if (typeof v === 'string' && INT64_STRING.test(v)) return Number(v);
  return refuse(field, 'must be an integer');
}

/** MLflow's double: a number, "NaN", "Infinity", "-Infinity" or a number written as a string. */
function double(v: unknown, field: string): number {
  if (typeof v === 'number') return v;
  if (
    typeof v === 'string' &&
    (v === 'NaN' || v === 'Infinity' || v === '-Infinity' || DOUBLE_STRING.test(v))
  )
    return Number(v);
  return refuse(field, 'must be a number, or "NaN", "Infinity" or "-Infinity"');
}

function boundedString(v: unknown, max: number, field: string): string {
  if (typeof v !== 'string') return refuse(field, 'must be a string');
  if (v.length > max) refuse(field, `must be at most ${max} characters long`);
  return v;
}

function checkKey(v: unknown, field: string): void {
  const problem = keyProblem(v);
  if (problem) refuse(field, problem);
}

function checkList(v: unknown, max: number, field: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return refuse(field, 'must be a list');
  if (v.length > max) refuse(field, `must hold at most ${max} items`);
  return v;
}

/** The rare metric with MLflow 3's fields: checked and renamed to the service's names. */
function renameModelFields(m: Json, at: string): void {
  if (m.model_id !== undefined) {
    if (!loggedModelIdSchema.safeParse(m.model_id).success)
      refuse(`${at}.model_id`, 'must be a logged model id (m-...)');
    m.modelId = m.model_id;
  }
  if (m.dataset_name !== undefined) m.datasetName = boundedString(m.dataset_name, 500, `${at}.dataset_name`);
  if (m.dataset_digest !== undefined)
    m.datasetDigest = boundedString(m.dataset_digest, 256, `${at}.dataset_digest`);
  if (m.run_id !== undefined) boundedString(m.run_id, Number.MAX_SAFE_INTEGER, `${at}.run_id`);
  delete m.model_id;
  delete m.dataset_name;
  delete m.dataset_digest;
  delete m.run_id;
}

function checkMetrics(list: unknown[]): LogBatch['metrics'] {
  // Keys repeat across a batch (a few names, many steps): each distinct one is checked once.
  const goodKeys = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    const at = `body.metrics.${i}`;
    if (!isPlainObject(m)) refuse(at, 'must be an object');
    let extra = false;
    for (const k in m) {
      if (!METRIC_FIELDS.has(k)) refuse(`${at}.${k}`, `unknown field '${k}'`);
      if (k === 'model_id' || k === 'dataset_name' || k === 'dataset_digest' || k === 'run_id') extra = true;
    }
    const key = m.key;
    if (typeof key !== 'string' || !goodKeys.has(key)) {
      checkKey(key, `${at}.key`);
      goodKeys.add(key as string);
    }
    const value = m.value;
    if (typeof value !== 'number') m.value = double(value, `${at}.value`);
    const timestamp = m.timestamp;
    if (timestamp === undefined) refuse(`${at}.timestamp`, 'is required');
    if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp))
      m.timestamp = int64(timestamp, `${at}.timestamp`);
    const step = m.step;
    if (step === undefined) m.step = 0;
    else if (typeof step !== 'number' || !Number.isSafeInteger(step)) m.step = int64(step, `${at}.step`);
    if (extra) renameModelFields(m, at);
  }
  // Each item now has the service's metric shape (key, value, timestamp, step and the optional
  // modelId, datasetName, datasetDigest), checked field by field above.
  return list as LogBatch['metrics'];
}

function checkKeyValues(list: unknown[], maxValue: number, name: 'params' | 'tags'): LogBatch['params'] {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const at = `body.${name}.${i}`;
    if (!isPlainObject(item)) refuse(at, 'must be an object');
    refuseUnknownFields(item, KEY_VALUE_FIELDS, at);
    checkKey(item.key, `${at}.key`);
    boundedString(item.value, maxValue, `${at}.value`);
  }
  return list as LogBatch['params'];
}

/**
 * Checks a parsed runs/log-batch body and returns the run id and the batch in the run service's shape,
 * reusing the body's own objects; throws a ValidationError naming the first bad field.
 */
export function readLogBatchBody(body: unknown): { runId: string; batch: LogBatch } {
  if (!isPlainObject(body)) refuse('body', 'must be a JSON object');
  refuseUnknownFields(body, TOP_FIELDS, 'body');
  const runId = body.run_id;
  if (runId === undefined) refuse('body.run_id', 'is required');
  if (typeof runId !== 'string' || runId.length < 1 || runId.length > 256)
    refuse('body.run_id', 'must be a string of 1 to 256 characters');
  const metrics = checkList(body.metrics, LIMITS.batchMetrics, 'body.metrics');
  const params = checkList(body.params, LIMITS.batchParams, 'body.params');
  const tags = checkList(body.tags, LIMITS.batchTags, 'body.tags');
  if (metrics.length + params.length + tags.length > LIMITS.batchTotal)
    refuse('body.metrics', `a batch holds at most ${LIMITS.batchTotal} metrics, params and tags in total`);
  return {
    runId,
    batch: {
      metrics: checkMetrics(metrics),
      params: checkKeyValues(params, LIMITS.paramValueLength, 'params'),
      tags: checkKeyValues(tags, LIMITS.tagValueLength, 'tags'),
    },
  };
}
