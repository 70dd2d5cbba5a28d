import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  createdWebhookSchema,
  createWebhookInputSchema,
  deliveriesQuerySchema,
  webhookDeliverySchema,
  webhookIdSchema,
  webhookTargetSchema,
} from '../../events/webhooks/index.js';
import { route } from '../route.js';

const tags = ['webhooks'];
const idParams = z.strictObject({ id: webhookIdSchema });

/** Webhook targets and their delivery log under /api/v1/webhooks; managing them takes admin. */
export function registerWebhookRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/webhooks',
    permission: 'admin',
    summary: 'List webhook targets (secrets are never shown)',
    tags,
    response: { 200: z.object({ webhooks: z.array(webhookTargetSchema) }) },
    handler: async () => ({ webhooks: await s.webhooks.list() }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/webhooks',
    permission: 'admin',
    summary: 'Add a webhook target; the reply shows its signing secret, once',
    tags,
    body: createWebhookInputSchema,
    response: { 201: createdWebhookSchema },
    handler: async (req, reply) =>
      reply.status(201).send(await s.webhooks.add({ actor: req.principal.name, ...req.body })),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/webhooks/deliveries',
    permission: 'admin',
    summary: 'The delivery log: each delivery with its attempts, newest first',
    tags,
    querystring: deliveriesQuerySchema,
    response: { 200: z.object({ deliveries: z.array(webhookDeliverySchema) }) },
    handler: async (req) => ({ deliveries: await s.webhooks.deliveries(req.query) }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/webhooks/:id',
    permission: 'admin',
    summary: 'Get a webhook target',
    tags,
    params: idParams,
    response: { 200: webhookTargetSchema },
    handler: async (req) => s.webhooks.get(req.params.id),
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/webhooks/:id',
    permission: 'admin',
    summary: 'Remove a webhook target (soft; its pending deliveries fail)',
    tags,
    params: idParams,
    response: { 200: z.object({ ok: z.literal(true) }) },
    handler: async (req) => {
      await s.webhooks.remove({ actor: req.principal.name, id: req.params.id });
      return { ok: true as const };
    },
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/webhooks/:id/test',
    permission: 'admin',
    summary: "Send a 'webhook.test' event to a target now; replies with the delivery after its first attempt",
    tags,
    params: idParams,
    response: { 200: webhookDeliverySchema },
    handler: async (req) => s.webhooks.test({ actor: req.principal.name, id: req.params.id }),
  });
}
