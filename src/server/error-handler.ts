import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type ErrorCode, isAppError } from '../core/errors.js';

/** MLflow's error_code for each of ours, with the HTTP status MLflow's server uses. */
const mlflowCodes: Record<ErrorCode, [string, number]> = {
  VALIDATION_FAILED: ['INVALID_PARAMETER_VALUE', 400],
  NOT_FOUND: ['RESOURCE_DOES_NOT_EXIST', 404],
  ALREADY_EXISTS: ['RESOURCE_ALREADY_EXISTS', 400],
  CONFLICT: ['INVALID_PARAMETER_VALUE', 400],
  INVALID_TRANSITION: ['INVALID_STATE', 400],
  UNAUTHENTICATED: ['UNAUTHENTICATED', 401],
  FORBIDDEN: ['PERMISSION_DENIED', 403],
  PAYLOAD_TOO_LARGE: ['RESOURCE_LIMIT_EXCEEDED', 413],
  UNSUPPORTED_MEDIA_TYPE: ['BAD_REQUEST', 415],
  INTEGRITY_ERROR: ['DATA_LOSS', 500],
  UNAVAILABLE: ['TEMPORARILY_UNAVAILABLE', 503],
  BUDGET_EXCEEDED: ['RESOURCE_EXHAUSTED', 402],
  UPSTREAM_ERROR: ['TEMPORARILY_UNAVAILABLE', 502],
  UPSTREAM_TIMEOUT: ['TEMPORARILY_UNAVAILABLE', 504],
  INTERNAL: ['INTERNAL_ERROR', 500],
};

/** True for the MLflow-compatible paths, which answer errors in MLflow's shape. */
export function isMlflowPath(url: string): boolean {
  return /^\/(ajax-)?api\/2\.0\/mlflow(-artifacts)?(\/|\?|$)/.test(url) || isScoringPath(url);
}

/** MLflow's scoring path: `sextant serve`'s /invocations and a deployment's /api/v1/deployments/<name>/invocations. */
function isScoringPath(url: string): boolean {
  return /^(\/api\/v1\/deployments\/[^/?]+)?\/invocations(\?|$)/.test(url);
}

function fieldOf(context: string | undefined, instancePath: string): string {
  const path = instancePath.replace(/^\//, '').replace(/\//g, '.');
  return [context ?? 'body', path].filter(Boolean).join('.');
}

/** Turns anything thrown in a request into an AppError a client may see. */
export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (isAppError(err)) return new AppError(err.code, err.message, err.details);
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const context = (err as { validationContext?: string }).validationContext;
    const keys = (first?.params as { issue?: { keys?: string[] } } | undefined)?.issue?.keys;
    const field = keys?.length
      ? fieldOf(context, `${first?.instancePath ?? ''}/${keys[0]}`)
      : fieldOf(context, first?.instancePath ?? '');
    const message = keys?.length ? `unknown field '${keys.join("', '")}'` : (first?.message ?? 'invalid');
    return new AppError('VALIDATION_FAILED', `${field}: ${message}`, { field });
  }
  const fe = err as Partial<FastifyError>;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError(
        'PAYLOAD_TOO_LARGE',
        'body: the request body is larger than this endpoint accepts',
        { field: 'body' },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('VALIDATION_FAILED', 'content-type: unsupported media type', {
        field: 'content-type',
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('VALIDATION_FAILED', 'body: a JSON body is required', { field: 'body' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('VALIDATION_FAILED', 'body: not valid JSON', { field: 'body' });
  }
  if (err instanceof SyntaxError && (fe.statusCode === 400 || /JSON/.test(err.message))) {
    return new AppError('VALIDATION_FAILED', 'body: not valid JSON', { field: 'body' });
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 && fe.message) {
    const code: ErrorCode =
      fe.statusCode === 404 ? 'NOT_FOUND' : fe.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED';
    return new AppError(code, fe.message);
  }
  return undefined;
}

/** An error's reply: its status and body, and whether it was unexpected (a 500 to log). */
export interface ErrorReply {
  status: number;
  body: { error_code: string; message: string } | { error: ReturnType<AppError['toJSON']> };
  unhandled: boolean;
}

/** The reply to an error: {"error": {code, message, details?}}, or MLflow's {error_code, message} on its paths. */
export function errorReplyOf(url: string, err: unknown): ErrorReply {
  const app = toAppError(err);
  const error = app ?? new AppError('INTERNAL', 'internal error; the server log has the details');
  if (isMlflowPath(url)) {
    const [mapped, status] = mlflowCodes[error.code];
    // MLflow's scoring server calls a body it cannot score BAD_REQUEST.
    const errorCode = error.code === 'VALIDATION_FAILED' && isScoringPath(url) ? 'BAD_REQUEST' : mapped;
    return { status, body: { error_code: errorCode, message: error.message }, unhandled: !app };
  }
  return { status: error.status, body: { error: error.toJSON() }, unhandled: !app };
}

/** Sends an error as {"error": {code, message, details?}}, or as MLflow's {error_code, message} on its paths. */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown) {
  const { status, body, unhandled } = errorReplyOf(request.url, err);
  if (unhandled) request.log.error({ err }, 'unhandled error');
  return reply.status(status).send(body);
}

/**
 * The longest raw (percent-encoded) path parameter the router accepts. A model name may hold 256
 * UTF-16 units and a ref 400, which percent-encode to a few thousand characters at most.
 */
export const MAX_PARAM_LENGTH = 4096;

/**
 * Fastify's `frameworkErrors`: what its router refuses before any handler runs (a parameter over
 * the length limit, a malformed percent-encoding) is answered in our error shape, not Fastify's own.
 */
export function sendFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  switch (err.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return sendError(
        request,
        reply,
        new AppError(
          'VALIDATION_FAILED',
          `path: a path parameter is longer than ${MAX_PARAM_LENGTH} characters`,
          {
            field: 'path',
            limit: MAX_PARAM_LENGTH,
          },
        ),
      );
    case 'FST_ERR_BAD_URL':
      return sendError(
        request,
        reply,
        new AppError('VALIDATION_FAILED', 'path: not a valid percent-encoded URL component', {
          field: 'path',
        }),
      );
  }
  return sendError(request, reply, err);
}

/** Installs the error and not-found handlers on the app. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  app.setNotFoundHandler((request, reply) => {
    const err = new AppError('NOT_FOUND', `no endpoint ${request.method} ${request.url.split('?')[0]}`);
    if (isMlflowPath(request.url))
      return reply.status(404).send({ error_code: 'ENDPOINT_NOT_FOUND', message: err.message });
    return reply.status(404).send({ error: err.toJSON() });
  });
}
