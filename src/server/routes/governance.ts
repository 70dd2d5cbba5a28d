import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

/** Routes of governance under /api/v1 (placeholder until that work lands). */
export function registerGovernanceRoutes(_app: FastifyInstance, _s: Services): void {}
