import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  createMonitorBodySchema,
  datasetFairnessQuerySchema,
  datasetFairnessSchema,
  MetricPointSchema,
  monitorIdSchema,
  monitorReferenceSchema,
  monitorRunResultSchema,
  monitorRunSchema,
  monitorSchema,
  runMonitorBodySchema,
  seriesQuerySchema,
} from '../../monitoring/index.js';
import { route } from '../route.js';

const tags = ['monitoring'];
const idParams = z.strictObject({ id: monitorIdSchema });
const ms = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));

/** Monitors, their runs and the metric series under /api/v1/monitors. */
export function registerMonitoringRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/monitors',
    permission: 'read',
    summary: 'List live monitors (of one deployment with ?deployment=)',
    tags,
    querystring: z.strictObject({ deployment: z.string().min(1).max(100).optional() }),
    response: { 200: z.object({ monitors: z.array(monitorSchema) }) },
    handler: async (req) => ({ monitors: await s.monitoring.monitors.list(req.query) }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/monitors',
    permission: 'write',
    summary: 'Create a monitor from monitor.yaml (the same name again with another spec: its next version)',
    tags,
    body: createMonitorBodySchema,
    response: { 201: monitorSchema },
    handler: async (req, reply) =>
      reply.status(201).send(await s.monitoring.monitors.create({ actor: req.principal.name, ...req.body })),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/monitors/series',
    permission: 'read',
    summary: 'Metric points by monitor, deployment, model version, metric, feature, slice, time range',
    tags,
    querystring: seriesQuerySchema,
    response: { 200: z.object({ points: z.array(MetricPointSchema) }) },
    handler: async (req) => ({ points: await s.monitoring.series.query(req.query) }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/monitors/fairness',
    permission: 'read',
    summary: 'Pre-training bias (CI, DPL) of a labelled dataset version per group of an attribute',
    tags,
    querystring: datasetFairnessQuerySchema,
    response: { 200: datasetFairnessSchema },
    handler: async (req) => s.monitoring.fairness(req.query),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/monitors/run',
    permission: 'write',
    summary: "Run a deployment's monitors now over [from, to) (default: each monitor's latest window)",
    tags,
    body: runMonitorBodySchema.extend({
      deployment: z.string().min(1).max(100),
      monitor: z.string().min(1).max(100).optional(),
    }),
    response: { 200: z.object({ results: z.array(monitorRunResultSchema) }) },
    handler: async (req) => ({
      results: await s.monitoring.runDeployment({
        actor: req.principal.name,
        deployment: req.body.deployment,
        monitor: req.body.monitor,
        from: ms(req.body.from),
        to: ms(req.body.to),
      }),
    }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/monitors/:id',
    permission: 'read',
    summary: 'Get a monitor (a removed one too: deletedAt says)',
    tags,
    params: idParams,
    response: { 200: monitorSchema },
    handler: async (req) => s.monitoring.monitors.get(req.params.id),
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/monitors/:id',
    permission: 'write',
    summary: 'Remove a monitor (soft: its runs and points stay)',
    tags,
    params: idParams,
    response: { 200: z.object({ ok: z.literal(true) }) },
    handler: async (req) => {
      await s.monitoring.monitors.remove({ actor: req.principal.name, id: req.params.id });
      return { ok: true as const };
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/monitors/:id/references',
    permission: 'read',
    summary: "A monitor's references, one per (monitor version, model version)",
    tags,
    params: idParams,
    response: { 200: z.object({ references: z.array(monitorReferenceSchema) }) },
    handler: async (req) => ({ references: await s.monitoring.monitors.references(req.params.id) }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/monitors/:id/runs',
    permission: 'read',
    summary: "A monitor's runs, newest window first",
    tags,
    params: idParams,
    querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(50) }),
    response: { 200: z.object({ runs: z.array(monitorRunSchema) }) },
    handler: async (req) => ({ runs: await s.monitoring.runs.list(req.params.id, req.query.limit) }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/monitors/:id/runs',
    permission: 'write',
    summary: 'Run one monitor now over [from, to) (default: its latest window)',
    tags,
    params: idParams,
    body: runMonitorBodySchema,
    response: { 200: monitorRunResultSchema },
    handler: async (req) =>
      s.monitoring.runs.run({
        actor: req.principal.name,
        monitorId: req.params.id,
        from: ms(req.body.from),
        to: ms(req.body.to),
        trigger: 'manual',
      }),
  });
}
