import type { RegistryDomain } from '../registry/index.js';
import type { TrackingDeps } from '../tracking/index.js';

export * from './serving.schema.js';

/** What serving is built from: the shared parts plus the registry it loads models from. */
export interface ServingDeps extends TrackingDeps {
  registry: RegistryDomain;
}

/** SCAFFOLD: replaced by the runtime helper (deployments, predictions, feedback, host, metrics). */
export function createServingDomain(_deps: ServingDeps) {
  return {
    /** Drains every loaded deployment and flushes its ledger. */
    close: async (): Promise<void> => {},
  };
}

export type ServingDomain = ReturnType<typeof createServingDomain>;
