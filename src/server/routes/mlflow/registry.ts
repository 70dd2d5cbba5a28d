import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';

/** MLflow's model registry REST API (placeholder until the registry work lands). */
export function registerMlflowRegistryRoutes(_app: FastifyInstance, _s: Services): void {}
