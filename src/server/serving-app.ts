import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Services } from '../app/index.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { DeploymentRuntime } from '../serving/index.js';
import { installErrorHandlers } from './error-handler.js';
import { hostAndOriginGuard, installHostAndOriginChecks } from './request-guards.js';
import {
  feedbackHandler,
  metricsHandler,
  predictHandler,
  predictionsJson,
  predictOptionsOf,
} from './routes/predict.js';
import { acceptScoringBodies, scoringBodyReader } from './scoring-body.js';
import { createScoringLane } from './scoring-lane.js';

export interface ServingAppOptions {
  services: Pick<Services, 'serving' | 'governance'>;
  runtime: DeploymentRuntime;
  logger?: Logger;
  /** Request body limit in bytes (default 16 MiB); a larger body is a 413. */
  bodyLimit?: number;
  /** On close, how long /readyz answers 503 before the listener stops (for load balancers to notice; default 0). */
  drainDelayMs?: number;
  /** Who the audit/labels name as the sender of feedback (default 'serve'). */
  actor?: string;
  /** The address it listens on (default loopback), for the Host check against DNS rebinding. */
  listenHost?: string;
  /** More host names it answers to (SEXTANT_ALLOWED_HOSTS). */
  allowedHosts?: string[];
}

/**
 * The lean app `sextant serve` runs over one deployment runtime, MLflow-scoring-server style (no auth;
 * the command binds loopback by default): POST /predict and /invocations, POST /feedback, GET /metrics,
 * /healthz (the process lives) and /readyz (the model is loaded and the app is not draining).
 *
 * Closing it drains gracefully: /readyz turns 503, the listener stops accepting, in-flight requests
 * finish, then the runtime closes (its ledger flushed, its models released).
 */
export async function buildServingApp(opts: ServingAppOptions): Promise<FastifyInstance> {
  const { services, runtime } = opts;
  const logger = opts.logger ?? silentLogger;
  const bodyLimit = opts.bodyLimit ?? 16 * 1024 * 1024;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit,
    // Requests on kept-alive connections are still served while closing: the runtime refuses (503)
    // only once it drains, so nothing sent before the drain is turned away.
    return503OnClosing: false,
  }) as unknown as FastifyInstance;
  installErrorHandlers(app);
  // No auth on the scoring port: a page in the user's browser must not score or send labels through it.
  const guards = { listenHost: opts.listenHost ?? '127.0.0.1', allowedHosts: opts.allowedHosts ?? [] };
  installHostAndOriginChecks(app, guards);
  let draining = false;
  const reader = scoringBodyReader(app);

  // No per-request log lines on any of these routes (the hot path); warnings and errors still log.
  const quiet = { logLevel: 'warn' as const };
  const predict = predictHandler(services, (_req, body, o) => runtime.predict(body, o));
  app.register(async (scope) => {
    acceptScoringBodies(scope, reader);
    scope.post('/predict', quiet, predict);
    scope.post('/invocations', quiet, predict);
  });
  app.post(
    '/feedback',
    quiet,
    feedbackHandler(services.serving, () => opts.actor ?? 'serve'),
  );
  app.get('/metrics', quiet, metricsHandler(services.serving));
  app.get('/healthz', quiet, async () => ({ status: 'ok' }));
  app.get('/readyz', quiet, async (_req, reply) => {
    if (!draining && runtime.ready()) {
      const s = runtime.serving();
      return {
        status: 'ready',
        deployment: runtime.deployment.name,
        model: s.champion.model,
        version: s.champion.version,
        challenger: s.challenger
          ? { version: s.challenger.version, mode: runtime.deployment.challenger?.mode }
          : null,
      };
    }
    return reply.status(503).send({
      error: {
        code: 'UNAVAILABLE',
        message: draining ? 'draining: shutting down' : 'the model is not loaded',
      },
    });
  });

  /*
   * The scoring requests' fast lane (scoring-lane.ts) sits in front of Fastify's request handler on
   * the app's server; what it does not take, Fastify answers as before. (A second binding Fastify
   * opens itself, for `--host localhost` on both loopback addresses, is served by Fastify alone.)
   */
  const lane = createScoringLane({
    refusal: hostAndOriginGuard(guards),
    bodyLimit,
    reader,
    predict: async (headers, body) =>
      predictionsJson(await runtime.predict(body, predictOptionsOf(services, headers, undefined))),
    closing: () => draining,
    logger,
  });
  const [fastifyHandler, ...others] = app.server.listeners('request') as ((
    req: IncomingMessage,
    res: ServerResponse,
  ) => void)[];
  if (fastifyHandler !== undefined && others.length === 0) {
    app.server.removeListener('request', fastifyHandler);
    app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!lane(req, res)) fastifyHandler(req, res);
    });
  }

  app.addHook('preClose', async () => {
    draining = true;
    if (opts.drainDelayMs) await new Promise((resolve) => setTimeout(resolve, opts.drainDelayMs));
  });
  // After the listener stopped and in-flight requests were answered.
  app.addHook('onClose', async () => {
    await runtime.close();
  });
  return app;
}
