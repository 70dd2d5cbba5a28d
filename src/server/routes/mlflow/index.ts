import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../app/index.js';
import { registerMlflowArtifactRoutes } from './artifacts.js';
import { registerMlflowExperimentRoutes } from './experiments.js';
import { registerMlflowLoggedModelRoutes } from './logged-models.js';
import { registerMlflowMultipartRoutes } from './multipart.js';
import { registerMlflowRegistryRoutes } from './registry.js';
import { registerMlflowRunRoutes } from './runs.js';

/** MLflow's tracking REST API (MLflow 3's logged models included) and artifact proxy, so MLflow clients work unchanged. */
export function registerMlflowRoutes(app: FastifyInstance, s: Services): void {
  registerMlflowExperimentRoutes(app, s);
  registerMlflowRunRoutes(app, s);
  registerMlflowArtifactRoutes(app, s);
  registerMlflowMultipartRoutes(app, s);
  registerMlflowLoggedModelRoutes(app, s);
  registerMlflowRegistryRoutes(app, s);
}
