import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  artifactEntrySchema,
  createExperimentBodySchema,
  createRunBodySchema,
  experimentIdSchema,
  experimentSchema,
  HISTORY_PAGE_DEFAULT,
  keySchema,
  logBatchBodySchema,
  logInputsBodySchema,
  metricSchema,
  nameSchema,
  pageQuerySchema,
  runIdSchema,
  runSchema,
  runSearchQuerySchema,
  updateRunBodySchema,
  viewTypeSchema,
} from '../../tracking/index.js';
import { sendJsonList } from '../json-stream.js';
import { acceptRawBodies } from '../raw-body.js';
import { route } from '../route.js';

const tags = ['tracking'];
const expParams = z.strictObject({ id: experimentIdSchema });
const runParams = z.strictObject({ id: runIdSchema });
const artifactParams = z.strictObject({ id: runIdSchema, '*': z.string() });
const ok = z.object({ ok: z.literal(true) });

/** The native tracking API under /api/v1: experiments, runs, logging, artifacts. */
export function registerTrackingRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/experiments',
    permission: 'read',
    summary: 'List experiments',
    tags,
    querystring: pageQuerySchema.extend({
      viewType: viewTypeSchema.default('ACTIVE_ONLY'),
      filter: z.string().max(4000).optional(),
    }),
    response: {
      200: z.object({ experiments: z.array(experimentSchema), nextPageToken: z.string().optional() }),
    },
    handler: async (req) => s.experiments.search(req.query),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/experiments',
    permission: 'write',
    summary: 'Create an experiment',
    tags,
    body: createExperimentBodySchema,
    response: { 201: experimentSchema },
    handler: async (req, reply) =>
      reply.status(201).send(await s.experiments.create({ actor: req.principal.name, ...req.body })),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/experiments/by-name/:name',
    permission: 'read',
    summary: 'Get an experiment by name',
    tags,
    params: z.strictObject({ name: nameSchema }),
    response: { 200: experimentSchema },
    handler: async (req) => s.experiments.getByName(req.params.name),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/experiments/:id',
    permission: 'read',
    summary: 'Get an experiment',
    tags,
    params: expParams,
    response: { 200: experimentSchema },
    handler: async (req) => s.experiments.get(req.params.id),
  });
  route(app, {
    method: 'PATCH',
    url: '/api/v1/experiments/:id',
    permission: 'write',
    summary: 'Rename an experiment',
    tags,
    params: expParams,
    body: z.strictObject({ name: nameSchema }),
    response: { 200: experimentSchema },
    handler: async (req) =>
      s.experiments.rename({ actor: req.principal.name, id: req.params.id, name: req.body.name }),
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/experiments/:id',
    permission: 'write',
    summary: 'Soft-delete an experiment and its runs',
    tags,
    params: expParams,
    response: { 200: ok },
    handler: async (req) => {
      await s.experiments.delete(req.principal.name, req.params.id);
      return { ok: true as const };
    },
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/experiments/:id/restore',
    permission: 'write',
    summary: 'Restore a deleted experiment and its runs',
    tags,
    params: expParams,
    response: { 200: ok },
    handler: async (req) => {
      await s.experiments.restore(req.principal.name, req.params.id);
      return { ok: true as const };
    },
  });
  route(app, {
    method: 'PUT',
    url: '/api/v1/experiments/:id/tags/:key',
    permission: 'write',
    summary: 'Set an experiment tag',
    tags,
    params: z.strictObject({ id: experimentIdSchema, key: keySchema }),
    body: z.strictObject({ value: z.string().max(8000) }),
    response: { 200: ok },
    handler: async (req) => {
      await s.experiments.setTag({
        actor: req.principal.name,
        id: req.params.id,
        key: req.params.key,
        value: req.body.value,
      });
      return { ok: true as const };
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/runs',
    permission: 'write',
    summary: 'Start a run',
    tags,
    body: createRunBodySchema,
    response: { 201: runSchema },
    handler: async (req, reply) =>
      reply.status(201).send(await s.runs.create({ actor: req.principal.name, ...req.body })),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/runs/search',
    permission: 'read',
    summary: "Search runs with MLflow's filter syntax",
    tags,
    body: runSearchQuerySchema,
    response: { 200: z.object({ runs: z.array(runSchema), nextPageToken: z.string().optional() }) },
    handler: async (req) => s.runSearch.search(req.body),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/runs/:id',
    permission: 'read',
    summary: 'Get a run with its params, latest metrics, tags and inputs',
    tags,
    params: runParams,
    response: { 200: runSchema },
    handler: async (req) => s.runs.get(req.params.id),
  });
  route(app, {
    method: 'PATCH',
    url: '/api/v1/runs/:id',
    permission: 'write',
    summary: 'Update a run: status, end time, name',
    tags,
    params: runParams,
    body: updateRunBodySchema,
    response: { 200: runSchema },
    handler: async (req) => s.runs.update({ actor: req.principal.name, runId: req.params.id, ...req.body }),
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/runs/:id',
    permission: 'write',
    summary: 'Soft-delete a run',
    tags,
    params: runParams,
    response: { 200: ok },
    handler: async (req) => {
      await s.runs.delete(req.principal.name, req.params.id);
      return { ok: true as const };
    },
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/runs/:id/restore',
    permission: 'write',
    summary: 'Restore a deleted run',
    tags,
    params: runParams,
    response: { 200: ok },
    handler: async (req) => {
      await s.runs.restore(req.principal.name, req.params.id);
      return { ok: true as const };
    },
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/runs/:id/batch',
    permission: 'write',
    summary: 'Log metrics, params and tags in one batch (params are immutable)',
    tags,
    params: runParams,
    body: logBatchBodySchema,
    response: { 200: ok },
    handler: async (req) => {
      await s.runs.logBatch({ actor: req.principal.name, runId: req.params.id, ...req.body });
      return { ok: true as const };
    },
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/runs/:id/tags/:key',
    permission: 'write',
    summary: 'Delete a run tag',
    tags,
    params: z.strictObject({ id: runIdSchema, key: keySchema }),
    response: { 200: ok },
    handler: async (req) => {
      await s.runs.deleteTag({ actor: req.principal.name, runId: req.params.id, key: req.params.key });
      return { ok: true as const };
    },
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/runs/:id/inputs',
    permission: 'write',
    summary: 'Record datasets a run read (or wrote)',
    tags,
    params: runParams,
    body: logInputsBodySchema,
    response: { 200: ok },
    handler: async (req) => {
      await s.runs.logInputs({ actor: req.principal.name, runId: req.params.id, ...req.body });
      return { ok: true as const };
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/runs/:id/metrics/:key/history',
    permission: 'read',
    summary: "A metric's full history",
    tags,
    params: z.strictObject({ id: runIdSchema, key: keySchema }),
    // The cap is checked by the service, so the 400 names it the same way on both APIs.
    querystring: pageQuerySchema.extend({
      maxResults: z.coerce.number().int().default(HISTORY_PAGE_DEFAULT),
    }),
    response: { 200: z.object({ metrics: z.array(metricSchema), nextPageToken: z.string().optional() }) },
    handler: async (req, reply) => {
      const page = await s.runs.metricHistory({
        runId: req.params.id,
        key: req.params.key,
        maxResults: req.query.maxResults,
        ...(req.query.pageToken ? { pageToken: req.query.pageToken } : {}),
      });
      return sendJsonList(reply, 'metrics', page.metrics, { nextPageToken: page.nextPageToken });
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/runs/:id/artifacts',
    permission: 'read',
    summary: 'List one folder of a run’s artifacts',
    tags,
    params: runParams,
    querystring: z.strictObject({ path: z.string().max(1024).default('') }),
    response: { 200: z.object({ artifacts: z.array(artifactEntrySchema) }) },
    handler: async (req) => ({ artifacts: await s.artifacts.list(req.params.id, req.query.path) }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/runs/:id/artifacts/*',
    permission: 'read',
    summary: 'Download an artifact (verified against its hash while streaming)',
    tags,
    params: artifactParams,
    handler: async (req, reply) => {
      const a = await s.artifacts.get(req.params.id, req.params['*']);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', a.size)
        .header('x-sextant-sha256', a.sha256)
        .send(a.stream);
    },
  });
  app.register(async (scope) => {
    acceptRawBodies(scope);
    route(scope, {
      method: 'PUT',
      url: '/api/v1/runs/:id/artifacts/*',
      permission: 'write',
      summary: 'Upload an artifact (raw body, streamed to the blob store)',
      tags,
      params: artifactParams,
      response: { 201: z.object({ path: z.string(), sha256: z.string(), size: z.number() }) },
      handler: async (req, reply) => {
        const content = (req.body as Readable | undefined) ?? '';
        const stored = await s.artifacts.put({
          actor: req.principal.name,
          runId: req.params.id,
          path: req.params['*'],
          content,
        });
        return reply.status(201).send(stored);
      },
    });
  });
}
