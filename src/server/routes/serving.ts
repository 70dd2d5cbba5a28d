import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import { ValidationError } from '../../core/errors.js';
import { explainOptionsSchema, explanationSchema } from '../../governance/explain/index.js';
import { formatTrace, predictionTraceSchema, traceQuerySchema } from '../../governance/trace/index.js';
import {
  createDeploymentBodySchema,
  deploymentNameSchema,
  deploymentSchema,
  deploymentStatsSchema,
  describeWindow,
  EXPORT_COUNT_HEADER,
  EXPORT_MEDIA_TYPES,
  EXPORT_WINDOW_HEADER,
  exportPredictionsQuerySchema,
  type ListPredictionsQuery,
  listPredictionsQuerySchema,
  predictionIdSchema,
  predictionSchema,
  prunePredictionsBodySchema,
  pruneSummarySchema,
  updateDeploymentBodySchema,
} from '../../serving/index.js';
import { route } from '../route.js';

const tags = ['serving'];
const nameParams = z.strictObject({ name: deploymentNameSchema });
const idParams = z.strictObject({ id: predictionIdSchema });
const ok = z.object({ ok: z.literal(true) });

/**
 * What a predictions listing filters on, as ids: a deployment by name (or its dep_ id, which also names
 * a deleted one), a model version as `<model>@<n>` (or its mv_ id).
 */
export async function predictionFilter(
  s: Services,
  q: ListPredictionsQuery,
  /** Where the filter came from, for the field an error names (`querystring.` over HTTP). */
  prefix = '',
): Promise<{ deploymentId?: string; modelVersionId?: string }> {
  const out: { deploymentId?: string; modelVersionId?: string } = {};
  if (q.deployment !== undefined)
    out.deploymentId = q.deployment.startsWith('dep_')
      ? q.deployment
      : (await s.serving.deployments.get(q.deployment)).id;
  if (q.modelVersion !== undefined) {
    if (q.modelVersion.startsWith('mv_')) out.modelVersionId = q.modelVersion;
    else {
      if (!/^.+@\d+$/.test(q.modelVersion))
        throw new ValidationError(
          `${prefix}modelVersion: expected <model>@<version number> or a model version id, got '${q.modelVersion}'`,
          { field: `${prefix}modelVersion` },
        );
      out.modelVersionId = (await s.registry.versions.resolve(q.modelVersion)).id;
    }
  }
  return out;
}

/** The native serving API: deployments, the prediction log, a prediction's trace and its explanation. */
export function registerServingRoutes(app: FastifyInstance, s: Services): void {
  const deployments = () => s.serving.deployments;
  route(app, {
    method: 'GET',
    url: '/api/v1/deployments',
    permission: 'read',
    summary: 'List live deployments',
    tags,
    response: { 200: z.object({ deployments: z.array(deploymentSchema) }) },
    handler: async () => ({ deployments: await deployments().list() }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/deployments',
    permission: 'write',
    summary: 'Create a deployment of `<model>@<alias|n>`, optionally with a shadow or canary challenger',
    tags,
    body: createDeploymentBodySchema,
    response: { 201: deploymentSchema },
    handler: async (req, reply) =>
      reply.status(201).send(await deployments().create({ actor: req.principal.name, ...req.body })),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/deployments/:name',
    permission: 'read',
    summary: 'Get a live deployment by name or id',
    tags,
    params: z.strictObject({ name: z.string().trim().min(1).max(100) }),
    response: { 200: deploymentSchema },
    handler: async (req) => deployments().get(req.params.name),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/deployments/:name/stats',
    permission: 'read',
    summary:
      "A deployment's predict requests and errors by code, summed over every process that served it (as of each one's last heartbeat)",
    tags,
    params: z.strictObject({ name: z.string().trim().min(1).max(100) }),
    response: { 200: deploymentStatsSchema },
    handler: async (req) => deployments().stats(req.params.name),
  });
  route(app, {
    method: 'PATCH',
    url: '/api/v1/deployments/:name',
    permission: 'write',
    summary: 'Change what a deployment follows, its challenger (null removes it) or its ledger mode',
    tags,
    params: nameParams,
    body: updateDeploymentBodySchema,
    response: { 200: deploymentSchema },
    handler: async (req) =>
      deployments().update({ actor: req.principal.name, name: req.params.name, ...req.body }),
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/deployments/:name',
    permission: 'write',
    summary: 'Delete a deployment (soft: its logged predictions stay and keep their trace)',
    tags,
    params: nameParams,
    response: { 200: ok },
    handler: async (req) => {
      await deployments().remove({ actor: req.principal.name, name: req.params.name });
      return { ok: true as const };
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/deployments/:name/predictions/export',
    permission: 'read',
    summary:
      "A deployment's prediction log over [from, to) as csv, jsonl or parquet, labels joined; streamed. X-Sextant-Prediction-Count gives the rows (0: an empty export with its header or schema)",
    tags,
    params: nameParams,
    querystring: exportPredictionsQuerySchema,
    handler: async (req, reply) => {
      const { format, from, to } = req.query;
      const window = await s.serving.exports.window({ deployment: req.params.name, from, to });
      const count = await s.serving.exports.count(window);
      const body = new PassThrough();
      s.serving.exports.write(window, format, body).then(
        () => body.end(),
        (err: Error) => {
          req.log.error({ err }, 'prediction export failed mid-stream');
          body.destroy(err);
        },
      );
      return reply
        .header('content-type', EXPORT_MEDIA_TYPES[format])
        .header(
          'content-disposition',
          `attachment; filename="${window.deployment.name}-predictions.${format}"`,
        )
        .header(EXPORT_COUNT_HEADER, String(count))
        .header(EXPORT_WINDOW_HEADER, describeWindow(window))
        .send(body);
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/predictions',
    permission: 'read',
    summary: 'Logged predictions, newest first, by deployment, model version (`<model>@<n>`) and time',
    tags,
    querystring: listPredictionsQuerySchema,
    response: {
      200: z.object({ predictions: z.array(predictionSchema), nextCursor: z.string().nullable() }),
    },
    handler: async (req) => {
      const { deployment: _d, modelVersion: _m, ...rest } = req.query;
      return s.serving.predictions.list({
        ...rest,
        ...(await predictionFilter(s, req.query, 'querystring.')),
      });
    },
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/predictions/prune',
    permission: 'admin',
    summary:
      'Retention: drop the sealed segments of the prediction log whose every prediction was served before a time (audited)',
    tags,
    body: prunePredictionsBodySchema,
    response: { 200: pruneSummarySchema },
    handler: async (req) =>
      s.serving.prune.prune({ actor: req.principal.name, before: Date.parse(req.body.before) }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/predictions/:id',
    permission: 'read',
    summary: 'One logged prediction with its label, if feedback arrived',
    tags,
    params: idParams,
    response: { 200: predictionSchema },
    handler: async (req) => s.serving.predictions.get(req.params.id),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/predictions/:id/trace',
    permission: 'read',
    summary:
      'The chain behind a prediction: model version, alias at that moment and approvals, run, datasets, upstream (`?format=text` for people)',
    tags,
    params: idParams,
    querystring: traceQuerySchema,
    response: { 200: predictionTraceSchema },
    handler: async (req, reply) => {
      const trace = await s.governance.trace.trace(req.params.id);
      if (req.query.format === 'text')
        return reply.type('text/plain; charset=utf-8').send(`${formatTrace(trace)}\n`);
      return trace;
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/predictions/:id/explanation',
    permission: 'read',
    summary: 'Feature attributions of a logged prediction (exact linear, TreeSHAP, or KernelSHAP)',
    tags,
    params: idParams,
    querystring: explainOptionsSchema,
    response: { 200: z.object({ prediction: predictionSchema, explanation: explanationSchema }) },
    handler: async (req) => s.governance.explain.explainPrediction(req.params.id, req.query),
  });
}
