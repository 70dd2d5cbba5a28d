import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Permission } from '../../../auth/index.js';
import { route } from '../../route.js';

export const MLFLOW_PREFIXES = ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow'] as const;

/**
 * Declares an MLflow endpoint under both of MLflow's prefixes. GET (and DELETE with no body) read the
 * fields from the query string, the other methods from the JSON body, as MLflow's server does. Paths
 * with parameters (MLflow 3's `logged-models/{model_id}`) declare them in `params`; the handler gets
 * them merged over the fields (a client may repeat them in the body, as MLflow's does).
 */
export function mlflowRoute<
  S extends z.ZodType,
  P extends z.ZodType = z.ZodObject<Record<string, never>>,
  I = z.infer<S> & z.infer<P>,
>(
  app: FastifyInstance,
  spec: {
    methods: ('GET' | 'POST' | 'PATCH' | 'DELETE')[];
    path: string;
    permission: Permission;
    summary: string;
    input: S;
    /**
     * A one-pass checker of the JSON body run instead of `input` (which then documents the route);
     * the handler gets what it returns. Only for a POST without path parameters (log-batch).
     */
    check?: (body: unknown) => I;
    params?: P;
    bodyLimit?: number;
    handler: (input: I, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  },
): void {
  for (const prefix of MLFLOW_PREFIXES) {
    for (const method of spec.methods) {
      const inQuery = method === 'GET';
      // A PATCH or DELETE on a path with parameters may come without a body: read it as {}.
      const input = spec.params && !inQuery ? z.preprocess((v) => v ?? {}, spec.input) : spec.input;
      route(app, {
        method,
        url: `${prefix}/${spec.path}`,
        permission: spec.permission,
        summary: spec.summary,
        tags: ['mlflow'],
        ...(spec.params ? { params: spec.params } : {}),
        ...(inQuery ? { querystring: input } : { body: input }),
        ...(spec.bodyLimit ? { bodyLimit: spec.bodyLimit } : {}),
        ...(spec.check && !inQuery ? { checkBody: spec.check } : {}),
        handler: async (req, reply) => {
          const fields = (inQuery ? req.query : req.body) as object;
          const merged = spec.params ? { ...fields, ...(req.params as object) } : fields;
          return spec.handler(merged as I, req, reply);
        },
      });
    }
  }
}
