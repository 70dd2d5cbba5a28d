import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../app/index.js';
import { registerMlflowArtifactRoutes } from './artifacts.js';
import { registerMlflowExperimentRoutes } from './experiments.js';
import { registerMlflowRegistryRoutes } from './registry.js';
import { registerMlflowRunRoutes } from './runs.js';

/** MLflow's tracking REST API and artifact proxy, so MLflow clients work unchanged. */
export function registerMlflowRoutes(app: FastifyInstance, s: Services): void {
  registerMlflowExperimentRoutes(app, s);
  registerMlflowRunRoutes(app, s);
  registerMlflowArtifactRoutes(app, s);
  registerMlflowRegistryRoutes(app, s);
}
