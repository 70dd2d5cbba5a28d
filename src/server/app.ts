import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Services } from '../app/index.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { installAuthHook } from './auth-hook.js';
import { installErrorHandlers, MAX_PARAM_LENGTH, sendFrameworkError } from './error-handler.js';
import { installRequestGuards } from './request-guards.js';
import type { RoutePermission } from './route.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerAlertRoutes } from './routes/alerts.js';
import { registerBudgetRoutes } from './routes/budgets.js';
import { registerCostRoutes } from './routes/cost.js';
import { registerDataRoutes } from './routes/data.js';
import { registerDataQualityRoutes } from './routes/data-quality.js';
import { registerGovernanceRoutes } from './routes/governance.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerMlflowRoutes } from './routes/mlflow/index.js';
import { registerMonitoringRoutes } from './routes/monitoring.js';
import { registerPipelineRoutes } from './routes/pipelines.js';
import { registerPredictRoutes } from './routes/predict.js';
import { registerReaperRoutes } from './routes/reaper.js';
import { registerRegistryRoutes } from './routes/registry.js';
import { registerServingRoutes } from './routes/serving.js';
import { registerTrackingRoutes } from './routes/tracking.js';
import { registerTriggerRoutes } from './routes/triggers.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { registerWebUi } from './web-ui.js';

export interface RouteEntry {
  method: string;
  url: string;
  permission: RoutePermission | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with the permission it declared (the permission test walks this). */
    routeTable: RouteEntry[];
  }
}

/** Builds the HTTP app over the services: native API under /api/v1, MLflow's under /api/2.0/mlflow. */
export async function buildApp(
  services: Services,
  options: { logger?: Logger; listenHost?: string; allowedHosts?: string[] } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger ?? silentLogger,
    bodyLimit: services.config.bodyLimitBytes,
    // 'idle': on close, idle keep-alive sockets go at once while requests in flight (predictions) finish.
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: sendFrameworkError,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  installRequestGuards(app, {
    listenHost: options.listenHost ?? services.config.host,
    allowedHosts: [...services.config.allowedHosts, ...(options.allowedHosts ?? [])],
  });

  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      table.push({
        method,
        url: r.url,
        permission: (r.config as { permission?: RoutePermission } | undefined)?.permission,
      });
    }
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Sextant API',
        version: '0.1.0',
        description: 'Native API (/api/v1) and the MLflow-compatible facade',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  installAuthHook(app, { mode: services.config.authMode, auth: services.auth });

  registerHealthRoutes(app, services);
  registerWebUi(app);
  registerTrackingRoutes(app, services);
  registerAdminRoutes(app, services);
  registerDataRoutes(app, services);
  registerDataQualityRoutes(app, services);
  registerRegistryRoutes(app, services);
  registerWebhookRoutes(app, services);
  registerBudgetRoutes(app, services);
  registerReaperRoutes(app, services);
  registerAlertRoutes(app, services);
  registerJobRoutes(app, services);
  registerPipelineRoutes(app, services);
  registerGovernanceRoutes(app, services);
  registerServingRoutes(app, services);
  registerMonitoringRoutes(app, services);
  registerPredictRoutes(app, services);
  registerTriggerRoutes(app, services);
  registerCostRoutes(app, services);
  await app.register(async (scope) => registerMlflowRoutes(scope, services));
  return app;
}
