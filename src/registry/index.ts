import type { TrackingDeps } from '../tracking/index.js';

/** Builds the model registry (placeholder until that work lands). */
export function createRegistryDomain(_deps: TrackingDeps) {
  return {};
}
