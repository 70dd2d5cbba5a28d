import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  createTriggerInputSchema,
  fireResultSchema,
  fireTriggerInputSchema,
  firingSchema,
  triggerRefSchema,
  triggerSchema,
} from '../../pipelines/triggers/index.js';
import { route } from '../route.js';

const tags = ['triggers'];
const refParams = z.strictObject({ ref: triggerRefSchema });

/** Pipeline triggers under /api/v1/triggers: reading takes read, changing or firing takes write. */
export function registerTriggerRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/triggers',
    permission: 'read',
    summary: 'List pipeline triggers',
    tags,
    response: { 200: z.object({ triggers: z.array(triggerSchema) }) },
    handler: async () => ({ triggers: await s.triggers.list() }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/triggers',
    permission: 'write',
    summary: 'Create a trigger (cron, dataset, event or manual) that starts a pipeline',
    tags,
    body: createTriggerInputSchema,
    response: { 201: triggerSchema },
    handler: async (req, reply) =>
      reply.status(201).send(await s.triggers.create({ actor: req.principal.name, ...req.body })),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/triggers/:ref',
    permission: 'read',
    summary: 'Get a trigger (by id or name) with its recent firings',
    tags,
    params: refParams,
    response: { 200: triggerSchema.extend({ firings: z.array(firingSchema) }) },
    handler: async (req) => s.triggers.get(req.params.ref),
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/triggers/:ref',
    permission: 'write',
    summary: 'Remove a trigger (soft; its firings stay)',
    tags,
    params: refParams,
    response: { 200: z.object({ ok: z.literal(true) }) },
    handler: async (req) => {
      await s.triggers.remove({ actor: req.principal.name, ref: req.params.ref });
      return { ok: true as const };
    },
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/triggers/:ref/fire',
    permission: 'write',
    summary: 'Fire a trigger now (an API firing); the same key fires once',
    tags,
    params: refParams,
    body: fireTriggerInputSchema,
    response: { 200: fireResultSchema },
    handler: async (req) =>
      s.triggers.fire({ actor: req.principal.name, ref: req.params.ref, via: 'api', ...req.body }),
  });
}
