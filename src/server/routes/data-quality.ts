import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

/** Routes of data-quality under /api/v1 (placeholder until that work lands). */
export function registerDataQualityRoutes(_app: FastifyInstance, _s: Services): void {}
