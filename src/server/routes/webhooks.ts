import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

/** Routes of webhooks under /api/v1 (placeholder until that work lands). */
export function registerWebhookRoutes(_app: FastifyInstance, _s: Services): void {}
