import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../app/index.js';
import { AppError, isAppError, PayloadTooLargeError, ValidationError } from '../../core/errors.js';
import {
  type FeedbackItem,
  type FeedbackOutcome,
  feedbackItemSchema,
  type PredictOptions,
  type PredictResult,
  type ServingDomain,
} from '../../serving/index.js';
import { route } from '../route.js';
import { acceptScoringBodies } from '../scoring-body.js';

/*
 * The predict, feedback and metrics handlers, written once and mounted twice: on the main server
 * (under /api/v1, per deployment, behind auth) and on `sextant serve` (serving-app.ts, one runtime).
 *
 * The predict path is hot: no zod on the request or the reply (the model's own parser checks the
 * body against its signature, naming the field), no per-request logging, one JSON string out.
 */

/** Feedback items one request may carry. */
export const MAX_FEEDBACK_ITEMS = 10_000;

type Explainer = NonNullable<PredictOptions['explain']>;

/** Explanations of served records on the model that answered them (governance's explainRecords). */
function explainerOf(services: Pick<Services, 'governance'>, backgroundDataset?: string): Explainer {
  const { explain } = services.governance;
  return ({ model, records }) =>
    explain.explainRecords({
      version: model.version,
      bytes: model.bytes,
      records,
      ...(backgroundDataset !== undefined ? { backgroundDataset } : {}),
      // The live model scores; its runtime releases it, never the explainer.
      scorer: { score: (rows) => model.score(rows), release: async () => {} },
    });
}

function wantsExplanation(query: unknown): boolean {
  const v = (query as { explain?: unknown } | undefined)?.explain;
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1' || v === '') return true;
  throw new ValidationError("explain: must be 'true' or 'false'", { field: 'explain' });
}

/** `?backgroundDataset=<dataset>@<v>`: the explanations' background sample for a model without training data. */
function backgroundDatasetOf(query: unknown): string | undefined {
  const v = (query as { backgroundDataset?: unknown }).backgroundDataset;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(v))
    throw new ValidationError('backgroundDataset: must look like <dataset>@<version>', {
      field: 'backgroundDataset',
    });
  return v;
}

/** Runs one request's prediction: on a deployment the host manages, or on `sextant serve`'s runtime. */
export type PredictRunner = (
  req: FastifyRequest,
  body: unknown,
  opts: PredictOptions,
) => Promise<PredictResult>;

/**
 * A predict request's options from its headers and query: `X-Request-Key` makes canary routing
 * sticky; `?explain=true` adds feature attributions (a bad value is a 400 naming the field).
 */
export function predictOptionsOf(
  services: Pick<Services, 'governance'>,
  headers: IncomingHttpHeaders,
  query: unknown,
): PredictOptions {
  const key = headers['x-request-key'];
  const opts: PredictOptions = { requestKey: typeof key === 'string' && key !== '' ? key : undefined };
  if (query && wantsExplanation(query)) opts.explain = explainerOf(services, backgroundDatasetOf(query));
  return opts;
}

/** The reply body of a prediction: `{"predictions": [...]}`, one JSON string. */
export function predictionsJson(result: PredictResult): string {
  // The runtime's text of the items when it has one: the same JSON, written once.
  if (result.itemsJson !== undefined) return `{"predictions":${result.itemsJson}}`;
  return JSON.stringify({ predictions: result.items });
}

/**
 * POST predict: MLflow scoring bodies or records in, `{"predictions": [...]}` out, each item with its
 * prediction id and model version.
 */
export function predictHandler(services: Pick<Services, 'governance'>, run: PredictRunner) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const result = await run(req, req.body, predictOptionsOf(services, req.headers, req.query));
    return reply.header('content-type', 'application/json; charset=utf-8').send(predictionsJson(result));
  };
}

/** The items of a feedback body: one item, `{feedback: [...]}` or an array; anything else is a 400. */
function feedbackItemsOf(body: unknown): { raw: unknown[]; single: boolean } {
  if (Array.isArray(body)) return { raw: body, single: false };
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (Array.isArray(b.feedback) && Object.keys(b).length === 1) return { raw: b.feedback, single: false };
    if ('prediction_id' in b) return { raw: [b], single: true };
  }
  throw new ValidationError(
    'body: send {"prediction_id", "label"}, {"feedback": [...]} or an array of {"prediction_id", "label"}',
    { field: 'body' },
  );
}

/** One item, checked; MLflow-style `outcome` or `actual` stand for `label`. */
function checkFeedbackItem(raw: unknown, field: string): FeedbackItem {
  let item = raw;
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const { outcome, actual, ...rest } = raw as Record<string, unknown>;
    const given = [rest.label, outcome, actual].filter((v) => v !== undefined);
    if (given.length > 1) {
      throw new ValidationError(`${field}: give the label once (label, outcome or actual)`, { field });
    }
    item = given.length === 1 ? { ...rest, label: given[0] } : rest;
  }
  const parsed = feedbackItemSchema.safeParse(item);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = [field, ...(issue?.path ?? []).map(String)].join('.');
  throw new ValidationError(`${at}: ${issue?.message ?? 'invalid'}`, { field: at });
}

/**
 * POST feedback: delayed labels. Each item gets its own outcome (recorded, duplicate, failed); the
 * request fails as a whole only when its shape is wrong. A single item that failed answers with its
 * error's status (404 for an unknown prediction id).
 */
export function feedbackHandler(
  serving: Pick<ServingDomain, 'feedback'>,
  actorOf: (req: FastifyRequest) => string,
) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const { raw, single } = feedbackItemsOf(req.body);
    if (raw.length > MAX_FEEDBACK_ITEMS) {
      throw new PayloadTooLargeError(
        `feedback: at most ${MAX_FEEDBACK_ITEMS} items per request, got ${raw.length}`,
        {
          field: 'feedback',
        },
      );
    }
    const outcomes: (FeedbackOutcome | undefined)[] = new Array(raw.length);
    const valid: FeedbackItem[] = [];
    const at: number[] = [];
    raw.forEach((r, i) => {
      try {
        valid.push(checkFeedbackItem(r, single ? 'body' : `feedback[${i}]`));
        at.push(i);
      } catch (err) {
        const e = err as AppError;
        const id = (r as { prediction_id?: unknown } | null)?.prediction_id;
        outcomes[i] = {
          predictionId: typeof id === 'string' ? id : '',
          status: 'failed',
          error: { code: e.code, message: e.message },
        };
      }
    });
    if (valid.length > 0) {
      const recorded = await serving.feedback.submit({ actor: actorOf(req), items: valid });
      recorded.forEach((o, j) => {
        outcomes[at[j] as number] = o;
      });
    }
    const all = outcomes as FeedbackOutcome[];
    if (single) {
      const only = all[0] as FeedbackOutcome;
      if (only.status === 'failed') {
        const code = isAppError(only.error) ? only.error.code : 'VALIDATION_FAILED';
        throw new AppError(code, only.error.message, { predictionId: only.predictionId });
      }
    }
    const count = (s: FeedbackOutcome['status']) => all.filter((o) => o.status === s).length;
    return reply.send({
      outcomes: all,
      recorded: count('recorded'),
      duplicate: count('duplicate'),
      failed: count('failed'),
    });
  };
}

/** GET metrics: the Prometheus text exposition (serving's, then any other domain's, e.g. monitoring). */
export function metricsHandler(
  serving: Pick<ServingDomain, 'metrics'>,
  ...more: readonly { text(): Promise<string> }[]
) {
  return async (_req: FastifyRequest, reply: FastifyReply) => {
    const texts = await Promise.all([serving.metrics.text(), ...more.map((m) => m.text())]);
    return reply.header('content-type', serving.metrics.contentType).send(texts.join(''));
  };
}

/**
 * The main server's mounts. Predict needs 'write': it writes the prediction log, and a reader must not
 * be able to fill it. /metrics needs 'read' (it names deployments and versions; a scraper sends a
 * viewer token). Feedback needs 'write'.
 */
export function registerPredictRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['serving'];
  const onDeployment: PredictRunner = (req, body, opts) =>
    s.serving.host.predict((req.params as { name: string }).name, body, opts);
  const handler = predictHandler(s, onDeployment);
  app.register(async (scope) => {
    acceptScoringBodies(scope);
    for (const path of ['predict', 'invocations']) {
      route(scope, {
        method: 'POST',
        url: `/api/v1/deployments/:name/${path}`,
        permission: 'write',
        summary:
          path === 'predict'
            ? 'Predict with a deployment (records, MLflow dataframe_records / dataframe_split / instances / inputs, or text/csv with a header row); ?explain=true adds attributions'
            : "Predict with a deployment at MLflow's scoring path (same as /predict; errors in MLflow's {error_code, message} shape)",
        tags,
        handler,
      });
    }
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/feedback',
    permission: 'write',
    summary:
      'Send delayed labels: {prediction_id, label}, {feedback: [...]} or an array; one outcome per item',
    tags,
    handler: feedbackHandler(s.serving, (req) => req.principal.name),
  });
  route(app, {
    method: 'GET',
    url: '/metrics',
    permission: 'read',
    summary:
      'Prometheus metrics of the deployments this server runs, plus job queue depth and worker busy share (for autoscalers)',
    tags,
    handler: metricsHandler(s.serving, s.monitoringMetrics, s.autoscalerMetrics),
  });
  // The runtimes this app opened drain (and their ledgers flush) when it closes.
  app.addHook('onClose', async () => {
    await s.serving.host.close();
  });
}
