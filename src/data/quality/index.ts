import type { TrackingDeps } from '../../tracking/index.js';

/** Builds the data-quality services: suites, validation, suggestions, comparisons (placeholder). */
export function createDataQualityDomain(_deps: TrackingDeps) {
  return {};
}
