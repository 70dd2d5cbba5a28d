import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

/** SCAFFOLD (runtime helper): POST /api/v1/deployments/:name/predict|invocations, /api/v1/feedback, /metrics. */
export function registerPredictRoutes(_app: FastifyInstance, _s: Services): void {}
