import http from 'node:http';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import { z } from 'zod';
import type { Store } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';

/*
 * Shared pieces of the end-to-end suites: unique names, a tiny MLflow wire client over app.inject,
 * zod contracts of MLflow's reply shapes (the server has none of its own: wire.ts maps by hand),
 * and the error shapes of both API styles.
 */

let counter = 0;
/** A name no other test (or earlier run against a kept database) uses. */
export function uniq(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export const nativeErrorSchema = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export const mlflowErrorSchema = z.strictObject({ error_code: z.string(), message: z.string() });

const keyValueSchema = z.strictObject({ key: z.string(), value: z.string() });
export const mlflowMetricSchema = z.strictObject({
  key: z.string(),
  value: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]),
  timestamp: z.number().int(),
  step: z.number().int(),
});
export const mlflowRunInfoSchema = z.strictObject({
  run_id: z.string(),
  run_uuid: z.string(),
  run_name: z.string(),
  experiment_id: z.string(),
  user_id: z.string(),
  status: z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']),
  start_time: z.number().int(),
  end_time: z.number().int().optional(),
  artifact_uri: z.string(),
  lifecycle_stage: z.enum(['active', 'deleted']),
});
export const mlflowRunSchema = z.strictObject({
  info: mlflowRunInfoSchema,
  data: z.strictObject({
    metrics: z.array(mlflowMetricSchema),
    params: z.array(keyValueSchema),
    tags: z.array(keyValueSchema),
  }),
  inputs: z.strictObject({
    dataset_inputs: z.array(
      z.strictObject({
        tags: z.array(keyValueSchema),
        dataset: z.strictObject({
          name: z.string(),
          digest: z.string(),
          source_type: z.string(),
          source: z.string(),
          schema: z.string().optional(),
          profile: z.string().optional(),
        }),
      }),
    ),
    // MLflow 3: logged models the run read (runs/get only).
    model_inputs: z.array(z.strictObject({ model_id: z.string() })).optional(),
  }),
  // MLflow 3: logged models the run produced (runs/get only).
  outputs: z
    .strictObject({
      model_outputs: z.array(z.strictObject({ model_id: z.string(), step: z.number().int() })),
    })
    .optional(),
});
export type MlflowRun = z.infer<typeof mlflowRunSchema>;
export const mlflowExperimentSchema = z.strictObject({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string(),
  lifecycle_stage: z.enum(['active', 'deleted']),
  creation_time: z.number().int(),
  last_update_time: z.number().int(),
  tags: z.array(keyValueSchema),
});
export const mlflowFileInfoSchema = z.strictObject({
  path: z.string(),
  is_dir: z.boolean(),
  file_size: z.number().optional(),
});
export const runsPageSchema = z.strictObject({
  runs: z.array(mlflowRunSchema).default([]),
  next_page_token: z.string().optional(),
});
export const experimentsPageSchema = z.strictObject({
  experiments: z.array(mlflowExperimentSchema),
  next_page_token: z.string().optional(),
});
export const historySchema = z.strictObject({
  metrics: z.array(mlflowMetricSchema),
  next_page_token: z.string().optional(),
});

/** Builds a query string the way MLflow's client does for GET: repeated fields repeat the parameter. */
export function queryOf(fields: Record<string, string | number | string[] | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const MLFLOW = '/api/2.0/mlflow';
export const AJAX = '/ajax-api/2.0/mlflow';
export const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

/** What MLflow's Python client sends: JSON bodies for POST, query parameters for GET. */
export function mlflowClient(
  app: FastifyInstance | (() => FastifyInstance),
  headers: Record<string, string> = {},
) {
  // A getter lets a suite declare its client before beforeAll has built the app.
  const target = typeof app === 'function' ? app : () => app;
  return {
    post: (path: string, body: unknown, prefix = MLFLOW) =>
      target().inject({ method: 'POST', url: `${prefix}/${path}`, payload: body as object, headers }),
    get: (path: string, fields: Parameters<typeof queryOf>[0] = {}, prefix = MLFLOW) =>
      target().inject({ method: 'GET', url: `${prefix}/${path}${queryOf(fields)}`, headers }),
  };
}
export type MlflowClient = ReturnType<typeof mlflowClient>;

export const empty = z.strictObject({});
const created = z.strictObject({ experiment_id: z.string() });
const runReply = z.strictObject({ run: mlflowRunSchema });

/** MLflow's [{key, value}] lists as a record. */
export const kv = (list: { key: string; value: string }[]) =>
  Object.fromEntries(list.map((t) => [t.key, t.value]));

/** Factories over an MLflow client: a new experiment (its id), a new run, a run read back, a log-batch call. */
export function mlflowSession(app: FastifyInstance | (() => FastifyInstance)) {
  const client = mlflowClient(app);
  return {
    client,
    async newExperiment(name = uniq('exp')): Promise<string> {
      return ok(await client.post('experiments/create', { name }), created).experiment_id;
    },
    async newRun(experimentId: string, body: Record<string, unknown> = {}): Promise<MlflowRun> {
      const res = await client.post('runs/create', {
        experiment_id: experimentId,
        start_time: String(Date.now()),
        ...body,
      });
      return ok(res, runReply).run;
    },
    async getRun(runId: string): Promise<MlflowRun> {
      return ok(await client.get('runs/get', { run_id: runId, run_uuid: runId }), runReply).run;
    },
    logBatch: (runId: string, body: Record<string, unknown>) =>
      client.post('runs/log-batch', { run_id: runId, ...body }),
  };
}
export type MlflowSession = ReturnType<typeof mlflowSession>;

/** The whole app over a suite's store, built before its tests and closed after, with an MLflow session on it. */
export function useMlflowApp(getStore: () => Store) {
  let t: TestApp | undefined;
  const app = () => {
    if (!t) throw new Error('the app is built in beforeAll');
    return t.app;
  };
  beforeAll(async () => {
    t = await createTestApp(getStore());
  });
  afterAll(() => t?.close());
  return { app, ...mlflowSession(app) };
}

/** The reply is 200 and parses with the schema. */
export function ok<S extends z.ZodType>(res: LightMyRequestResponse, schema: S): z.infer<S> {
  expect(res.statusCode, res.body).toBe(200);
  return schema.parse(res.json());
}

/** The reply is an MLflow error with this status and code; returns its message. */
export function mlflowError(res: LightMyRequestResponse, status: number, code: string): string {
  expect(res.statusCode, res.body).toBe(status);
  const body = mlflowErrorSchema.parse(res.json());
  expect(body.error_code).toBe(code);
  return body.message;
}

/** The reply is a native error with this status and code; returns the error. */
export function nativeError(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  const body = nativeErrorSchema.parse(res.json());
  expect(body.error.code).toBe(code);
  return body.error;
}

/** Sends a request with the path exactly as given (app.inject and fetch normalise `..` and `\`). */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  body?: Buffer | string,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
