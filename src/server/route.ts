import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchemaCompiler,
  RawServerDefault,
} from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { Permission, Principal } from '../auth/index.js';

/** What a route requires of its caller: a permission, or nothing ('public': health and the API document). */
export type RoutePermission = Permission | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: RoutePermission;
  }
  interface FastifyRequest {
    principal: Principal;
  }
}

export type App = FastifyInstance<RawServerDefault> & {
  withTypeProvider: FastifyInstance['withTypeProvider'];
};

type Schema = z.ZodType;
type Infer<S> = S extends Schema ? z.infer<S> : undefined;

export interface RouteSpec<P, Q, B> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  permission: RoutePermission;
  summary: string;
  tags?: string[];
  params?: P;
  querystring?: Q;
  body?: B;
  /**
   * A hand-written checker run on the body instead of the `body` schema, which then only documents
   * the route. For hot paths where a schema's per-item work is the cost (see mlflow/log-batch-body.ts);
   * it returns the handler's body or throws an AppError naming the field.
   */
  checkBody?: (body: unknown) => unknown;
  response?: Record<number, Schema>;
  bodyLimit?: number;
  handler: (
    req: FastifyRequest & { params: Infer<P>; query: Infer<Q>; body: Infer<B> },
    reply: FastifyReply,
  ) => Promise<unknown>;
}

/**
 * Declares one route: method, path, the permission it needs, zod schemas and a handler that calls a
 * service. The OpenAPI document and the permission test are built from these declarations.
 */
export function route<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(app: FastifyInstance, spec: RouteSpec<P, Q, B>): void {
  app.withTypeProvider<ZodTypeProvider>().route({
    method: spec.method,
    url: spec.url,
    config: { permission: spec.permission },
    ...(spec.bodyLimit ? { bodyLimit: spec.bodyLimit } : {}),
    ...(spec.checkBody ? { validatorCompiler: withBodyChecker(spec.checkBody) } : {}),
    schema: {
      summary: spec.summary,
      ...(spec.tags ? { tags: spec.tags } : {}),
      ...(spec.params ? { params: spec.params } : {}),
      ...(spec.querystring ? { querystring: spec.querystring } : {}),
      ...(spec.body ? { body: spec.body } : {}),
      ...(spec.response ? { response: spec.response } : {}),
    },
    // biome-ignore lint/suspicious/noExplicitAny: the request type is narrowed by the spec's schemas above
    handler: spec.handler as any,
  });
}

/** The route's validator compiler: `check` for the body, the zod schemas for the other parts. */
function withBodyChecker(check: (body: unknown) => unknown): FastifySchemaCompiler<unknown> {
  return (req) => {
    if (req.httpPart !== 'body') return validatorCompiler(req as Parameters<typeof validatorCompiler>[0]);
    return (data: unknown) => {
      try {
        return { value: check(data) };
      } catch (err) {
        return { error: err as Error };
      }
    };
  };
}
