import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

/** SCAFFOLD (trace helper): deployments CRUD, predictions list/get, trace and explanations. */
export function registerServingRoutes(_app: FastifyInstance, _s: Services): void {}
