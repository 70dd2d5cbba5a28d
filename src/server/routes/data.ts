import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

/** Routes of data under /api/v1 (placeholder until that work lands). */
export function registerDataRoutes(_app: FastifyInstance, _s: Services): void {}
