import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ExplainOptions, Explanation } from '../governance/explain/explanation.schema.js';
import type { PredictionTrace } from '../governance/trace/trace.schema.js';
import {
  type CreateDeploymentInput,
  type Deployment,
  type DeploymentStats,
  EXPORT_COUNT_HEADER,
  EXPORT_WINDOW_HEADER,
  type ExportPredictionsQuery,
  type ExportSummary,
  type FeedbackItem,
  type FeedbackOutcome,
  type ListPredictionsQuery,
  type Prediction,
  type PrunePredictionsBody,
  type PruneSummary,
  type UpdateDeploymentInput,
} from '../serving/serving.schema.js';
import type { HttpTransport } from './http-transport.js';

/** A logged prediction with its feature attributions. */
export interface PredictionExplanation {
  prediction: Prediction;
  explanation: Explanation;
}

/** The serving part of SextantApi: deployments, the prediction log, delayed labels, trace, explanations. */
export interface ServingApi {
  deployments: {
    /** `model` is `<model>@<alias|n>`. */
    create(input: CreateDeploymentInput): Promise<Deployment>;
    list(): Promise<Deployment[]>;
    /** By name or id. */
    get(name: string): Promise<Deployment>;
    /** `challenger: null` removes the challenger. */
    update(name: string, patch: UpdateDeploymentInput): Promise<Deployment>;
    remove(name: string): Promise<void>;
    /** Predict requests and errors (by code) over every process that served it, as of their last heartbeats. */
    stats(name: string): Promise<DeploymentStats>;
  };
  predictions: {
    /** Newest first; `modelVersion` is `<model>@<n>` (or an mv_ id), `deployment` a name (or a dep_ id). */
    list(q?: ListPredictionsQuery): Promise<{ predictions: Prediction[]; nextCursor: string | null }>;
    get(id: string): Promise<Prediction>;
    /** Drops the sealed segments of the log served wholly before `before` (audited; admin). */
    prune(body: PrunePredictionsBody): Promise<PruneSummary>;
    /** Streams a deployment's log over [from, to) into `out` (not ended: the caller owns it); 0 rows is an empty export, not an error. */
    export(deployment: string, q: ExportPredictionsQuery, out: Writable): Promise<ExportSummary>;
  };
  /** Delayed labels: one outcome per item (recorded, duplicate or failed), never thrown per item. */
  feedback(items: FeedbackItem[]): Promise<FeedbackOutcome[]>;
  /** The chain behind a prediction, back to its training data. */
  trace(id: string): Promise<PredictionTrace>;
  explain(id: string, opts?: ExplainOptions): Promise<PredictionExplanation>;
}

const enc = encodeURIComponent;

/** ServingApi over HTTP. */
export function servingHttpApi(t: HttpTransport): ServingApi {
  return {
    deployments: {
      create: (input) => t.call('POST', '/api/v1/deployments', { json: input }),
      list: async () =>
        (await t.call<{ deployments: Deployment[] }>('GET', '/api/v1/deployments')).deployments,
      get: (name) => t.call('GET', `/api/v1/deployments/${enc(name)}`),
      update: (name, patch) => t.call('PATCH', `/api/v1/deployments/${enc(name)}`, { json: patch }),
      remove: async (name) => void (await t.call('DELETE', `/api/v1/deployments/${enc(name)}`)),
      stats: (name) => t.call('GET', `/api/v1/deployments/${enc(name)}/stats`),
    },
    predictions: {
      list: (q = {}) => t.call('GET', '/api/v1/predictions', { query: q as Record<string, unknown> }),
      get: (id) => t.call('GET', `/api/v1/predictions/${enc(id)}`),
      prune: (body) => t.call('POST', '/api/v1/predictions/prune', { json: body }),
      export: async (deployment, q, out) => {
        const res = await t.raw('GET', `/api/v1/deployments/${enc(deployment)}/predictions/export`, {
          query: q as Record<string, unknown>,
        });
        if (res.body) {
          await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream), out, { end: false });
        }
        return {
          count: Number(res.headers.get(EXPORT_COUNT_HEADER) ?? 0),
          window: res.headers.get(EXPORT_WINDOW_HEADER) ?? '',
        };
      },
    },
    feedback: async (items) =>
      (await t.call<{ outcomes: FeedbackOutcome[] }>('POST', '/api/v1/feedback', { json: items })).outcomes,
    trace: (id) => t.call('GET', `/api/v1/predictions/${enc(id)}/trace`),
    explain: (id, opts = {}) =>
      t.call('GET', `/api/v1/predictions/${enc(id)}/explanation`, { query: opts as Record<string, unknown> }),
  };
}
