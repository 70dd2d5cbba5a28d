import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

/** Routes of registry under /api/v1 (placeholder until that work lands). */
export function registerRegistryRoutes(_app: FastifyInstance, _s: Services): void {}
