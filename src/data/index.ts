import type { TrackingDeps } from '../tracking/index.js';

/** Builds the data domain: datasets, versions, tables, quality (placeholder until that work lands). */
export function createDataDomain(_deps: TrackingDeps) {
  return {};
}
