import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  jobDetailSchema,
  jobIdSchema,
  jobPageSchema,
  jobSchema,
  listJobsQuerySchema,
  workerSchema,
} from '../../jobs/index.js';
import { route } from '../route.js';

const tags = ['jobs'];
const idParams = z.strictObject({ id: jobIdSchema });

/** Background jobs and their attempts under /api/v1/jobs. */
export function registerJobRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/jobs',
    permission: 'read',
    summary: 'List jobs, newest first (filters: status, name, queue; keyset pages)',
    tags,
    querystring: listJobsQuerySchema,
    response: { 200: jobPageSchema },
    handler: async (req) => s.jobs.list(req.query),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/jobs/:id',
    permission: 'read',
    summary: 'Get a job with its attempts (worker, start, end, error)',
    tags,
    params: idParams,
    response: { 200: jobDetailSchema },
    handler: async (req) => s.jobs.get(req.params.id),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/workers',
    permission: 'read',
    summary: 'Workers seen in the attempt log over the last day: queues, last sign of life, current job',
    tags,
    response: { 200: z.object({ workers: z.array(workerSchema) }) },
    handler: async () => ({ workers: await s.jobs.workers() }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/jobs/:id/cancel',
    permission: 'write',
    summary: 'Cancel a queued or running job (a running handler is told to stop); audited',
    tags,
    params: idParams,
    response: { 200: jobSchema },
    handler: async (req) => s.jobs.cancel({ actor: req.principal.name, id: req.params.id }),
  });
}
