import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import { pingStore } from '../../store/index.js';
import { route } from '../route.js';

/** Liveness, readiness and the OpenAPI document. */
export function registerHealthRoutes(app: FastifyInstance, services: Services): void {
  route(app, {
    method: 'GET',
    url: '/healthz',
    permission: 'public',
    summary: 'Liveness: the process answers',
    response: { 200: z.object({ status: z.literal('ok') }) },
    handler: async () => ({ status: 'ok' as const }),
  });
  route(app, {
    method: 'GET',
    url: '/readyz',
    permission: 'public',
    summary: 'Readiness: the database answers',
    handler: async (_req, reply) => {
      if (await pingStore(services.store)) {
        return { status: 'ready', database: services.store.dialect.name, blobs: services.blobs.kind };
      }
      return reply
        .status(503)
        .send({ error: { code: 'UNAVAILABLE', message: 'the database does not answer' } });
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/openapi.json',
    permission: 'public',
    summary: 'The OpenAPI document of this server',
    handler: async () => app.swagger(),
  });
}
