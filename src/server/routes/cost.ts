import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  costGaugesText,
  costReportQuerySchema,
  costReportSchema,
  priceBookSchema,
  recordUsageInputSchema,
  setPriceBookBodySchema,
  usageRecordSchema,
} from '../../cost/index.js';
import { route } from '../route.js';

const tags = ['cost'];
const DAY = 86_400_000;

/** Usage records, the price book and cost reports under /api/v1/cost. */
export function registerCostRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'POST',
    url: '/api/v1/cost/usage',
    permission: 'write',
    summary: 'Record what a meter measured (a run, a job attempt, a deployment interval)',
    tags,
    body: recordUsageInputSchema,
    response: { 201: z.object({ records: z.array(usageRecordSchema) }) },
    handler: async (req, reply) =>
      reply
        .status(201)
        .send({ records: await s.cost.usage.record({ actor: req.principal.name, ...req.body }) }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/cost/usage',
    permission: 'read',
    summary: 'Usage recorded for a run',
    tags,
    querystring: z.strictObject({ runId: z.string().min(1).max(200) }),
    response: { 200: z.object({ records: z.array(usageRecordSchema) }) },
    handler: async (req) => ({ records: await s.cost.usage.ofRun(req.query.runId) }),
  });
  route(app, {
    method: 'PUT',
    url: '/api/v1/cost/prices',
    permission: 'admin',
    summary: 'Set the price book (YAML text or a document): a new version, audited',
    tags,
    body: setPriceBookBodySchema,
    response: { 200: priceBookSchema },
    handler: async (req) => s.cost.prices.set({ actor: req.principal.name, ...req.body }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/cost/prices',
    permission: 'read',
    summary: 'The price book in force, or a given version',
    tags,
    querystring: z.strictObject({ version: z.coerce.number().int().positive().optional() }),
    response: { 200: priceBookSchema },
    handler: async (req) => s.cost.prices.get(req.query.version),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/cost/report',
    permission: 'read',
    summary:
      'Cost by experiment, model, deployment, run or tag over a range, optionally compared with another (causes=true ranks the causes of the change)',
    tags,
    querystring: costReportQuerySchema.extend({
      from: z.union([z.coerce.number().int().nonnegative(), z.string().min(1)]).optional(),
      to: z.union([z.coerce.number().int().nonnegative(), z.string().min(1)]).optional(),
      limit: z.coerce.number().int().positive().max(1_000_000).optional(),
      causes: z
        .union([z.boolean(), z.enum(['true', 'false'])])
        .transform((v) => v === true || v === 'true')
        .optional(),
    }),
    response: { 200: costReportSchema },
    handler: async (req) => s.cost.reports.report(req.query),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/cost/metrics',
    permission: 'read',
    summary: "Prometheus gauges: the last 30 days' cost by experiment and by deployment (bounded labels)",
    tags,
    handler: async (_req, reply) => {
      const to = s.clock.now();
      const from = to - 30 * DAY;
      const [byExperiment, byDeployment] = await Promise.all([
        s.cost.reports.report({ by: 'experiment', from, to }),
        s.cost.reports.report({ by: 'deployment', from, to }),
      ]);
      return reply.type('text/plain; version=0.0.4').send(
        costGaugesText([
          {
            name: 'sextant_cost_experiment',
            help: 'Cost of the last 30 days by experiment',
            report: byExperiment,
          },
          {
            name: 'sextant_cost_deployment',
            help: 'Cost of the last 30 days by deployment',
            report: byDeployment,
          },
        ]),
      );
    },
  });
}
