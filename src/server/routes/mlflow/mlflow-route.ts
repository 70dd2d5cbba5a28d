import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Permission } from '../../../auth/index.js';
import { route } from '../../route.js';

export const MLFLOW_PREFIXES = ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow'] as const;

/**
 * Declares an MLflow endpoint under both of MLflow's prefixes. GET (and DELETE with no body) read the
 * fields from the query string, the other methods from the JSON body, as MLflow's server does.
 */
export function mlflowRoute<S extends z.ZodType>(
  app: FastifyInstance,
  spec: {
    methods: ('GET' | 'POST' | 'PATCH' | 'DELETE')[];
    path: string;
    permission: Permission;
    summary: string;
    input: S;
    bodyLimit?: number;
    handler: (input: z.infer<S>, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  },
): void {
  for (const prefix of MLFLOW_PREFIXES) {
    for (const method of spec.methods) {
      const inQuery = method === 'GET';
      route(app, {
        method,
        url: `${prefix}/${spec.path}`,
        permission: spec.permission,
        summary: spec.summary,
        tags: ['mlflow'],
        ...(inQuery ? { querystring: spec.input } : { body: spec.input }),
        ...(spec.bodyLimit ? { bodyLimit: spec.bodyLimit } : {}),
        handler: async (req, reply) =>
          spec.handler((inQuery ? req.query : req.body) as z.infer<S>, req, reply),
      });
    }
  }
}
