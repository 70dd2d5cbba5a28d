import type { TrackingDeps } from '../../tracking/index.js';

/** Builds webhook targets and signed deliveries (placeholder until that work lands). */
export function createWebhookService(_deps: TrackingDeps) {
  return {};
}
