import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import { reaperActionSchema, savingsReportSchema } from '../../cost/reaper/index.js';
import { route } from '../route.js';

const tags = ['reaper'];
const DAY_MS = 86_400_000;
const windowQuery = z.strictObject({
  from: z.string().datetime({ offset: true }).optional(),
  to: z.string().datetime({ offset: true }).optional(),
});

/** The window a query names: [from, to), by default the last 30 days. */
function windowOf(q: z.infer<typeof windowQuery>, now: number): { from: number; to: number } {
  const to = q.to ? Date.parse(q.to) : now;
  return { from: q.from ? Date.parse(q.from) : to - 30 * DAY_MS, to };
}

/** The idle reaper under /api/v1/reaper: what it did, and what that saved. */
export function registerReaperRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/reaper/actions',
    permission: 'read',
    summary: 'What the idle reaper did (unloads, wakes with their cold start, worker exits, GPU flags)',
    tags,
    querystring: windowQuery,
    response: { 200: z.object({ actions: z.array(reaperActionSchema) }) },
    handler: async (req) => ({ actions: await s.reaper.list(windowOf(req.query, s.clock.now())) }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/reaper/savings',
    permission: 'read',
    summary:
      'Instance-hours not run because of unloads and worker exits, cold starts paid (default: the last 30 days)',
    tags,
    querystring: windowQuery,
    response: { 200: savingsReportSchema },
    handler: async (req) => s.reaper.savings(windowOf(req.query, s.clock.now())),
  });
}
