import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  createPipelineBodySchema,
  listPipelineRunsQuerySchema,
  logPageSchema,
  pipelineNameSchema,
  pipelineRunDetailSchema,
  pipelineRunIdSchema,
  pipelineRunPageSchema,
  pipelineRunStatusSchema,
  pipelineSchema,
} from '../../pipelines/index.js';
import { route } from '../route.js';

const tags = ['pipelines'];
const idParams = z.strictObject({ id: pipelineRunIdSchema });
// Over HTTP a pipeline is named, never a file path: the server reads no files a caller names.
const runBody = z.strictObject({
  pipeline: pipelineNameSchema,
  params: z.record(z.string(), z.unknown()).optional(),
  force: z.boolean().optional(),
});

/** Pipelines and their runs under /api/v1/pipelines and /api/v1/pipeline-runs. */
export function registerPipelineRoutes(app: FastifyInstance, s: Services): void {
  const p = s.pipelines.service;
  route(app, {
    method: 'POST',
    url: '/api/v1/pipelines',
    permission: 'write',
    summary: 'Register a pipeline spec (YAML); the same content registers once, a change makes a new version',
    tags,
    body: createPipelineBodySchema,
    response: { 200: z.object({ pipeline: pipelineSchema, created: z.boolean() }) },
    handler: async (req) => p.create({ yaml: req.body.yaml, actor: req.principal.name }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/pipelines',
    permission: 'read',
    summary: 'List pipelines (latest version of each)',
    tags,
    response: { 200: z.object({ pipelines: z.array(pipelineSchema) }) },
    handler: async () => ({ pipelines: await p.listPipelines() }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/pipeline-runs',
    permission: 'write',
    summary: 'Start a run of a registered pipeline (latest version); returns at once',
    tags,
    body: runBody,
    response: { 200: z.object({ runId: z.string(), status: pipelineRunStatusSchema }) },
    handler: async (req) =>
      p.start({
        pipeline: req.body.pipeline,
        ...(req.body.params ? { params: req.body.params } : {}),
        ...(req.body.force ? { force: true } : {}),
        actor: req.principal.name,
        trigger: { kind: 'api', key: `api:${req.principal.name}` },
      }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/pipeline-runs',
    permission: 'read',
    summary: 'List pipeline runs, newest first (filters: pipeline, status; keyset pages)',
    tags,
    querystring: listPipelineRunsQuerySchema,
    response: { 200: pipelineRunPageSchema },
    handler: async (req) => p.listRuns(req.query),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/pipeline-runs/:id',
    permission: 'read',
    summary: 'A pipeline run with its steps (status, outputs, exit code, log tail, cache key)',
    tags,
    params: idParams,
    response: { 200: pipelineRunDetailSchema },
    handler: async (req) => p.getRun(req.params.id),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/pipeline-runs/:id/logs',
    permission: 'read',
    summary: "A run's step logs after a cursor (poll with the returned cursor until done)",
    tags,
    params: idParams,
    querystring: z.strictObject({ step: z.string().max(63).optional(), after: z.string().max(200).optional() }),
    response: { 200: logPageSchema },
    handler: async (req) =>
      p.logs({
        runId: req.params.id,
        ...(req.query.step ? { step: req.query.step } : {}),
        ...(req.query.after ? { after: req.query.after } : {}),
      }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/pipeline-runs/:id/cancel',
    permission: 'write',
    summary: 'Cancel a running pipeline run (queued steps never start, running ones are killed); audited',
    tags,
    params: idParams,
    response: { 200: z.object({ cancelled: z.literal(true) }) },
    handler: async (req) => {
      await p.cancel(req.params.id, req.principal.name);
      return { cancelled: true as const };
    },
  });
}
