import type { TrackingDeps } from '../tracking/index.js';

/** Builds lineage and garbage collection (placeholder until that work lands). */
export function createGovernanceDomain(_deps: TrackingDeps) {
  return {};
}
