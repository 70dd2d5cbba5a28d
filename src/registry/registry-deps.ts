import type { Role } from '../auth/index.js';
import type { DomainDeps } from '../core/domain-deps.js';
import type { EventEmitter } from '../events/index.js';
import type { ArtifactService, RunService } from '../tracking/index.js';
import type { registryEvents } from './registry.events.js';

/** Who asks: the name the audit trail shows and the role the policy checks. */
export interface Actor {
  name: string;
  role: Role;
}

/** The port the registry emits through (the event bus), typed by the registry's own events. */
export type RegistryEvents = EventEmitter<typeof registryEvents>;

/** A dataset version as the registry reads it (the data domain's DatasetVersion has more). */
export interface DatasetVersionFacts {
  id: string;
  dataset: string;
  number: number;
  digest: string;
  source?: string | undefined;
  license?: string | undefined;
  pii?: boolean | undefined;
}

/**
 * What the registry is built from. Everything beyond tracking comes in as a narrow interface so the
 * registry imports no other domain: the event bus, dataset versions and their quality results,
 * and, later, the monitoring metrics that fairness and drift gates read.
 */
export interface RegistryDeps extends DomainDeps {
  runs: Pick<RunService, 'get'>;
  artifacts: Pick<ArtifactService, 'list' | 'stat'>;
  /** Writes an event in the caller's transaction (the outbox); delivery happens after commit. */
  events: RegistryEvents;
  datasetVersions: { get(id: string): Promise<DatasetVersionFacts> };
  dataQuality: {
    latestResults(versionId: string): Promise<{ suite: string; passed: boolean; at: string }[]>;
  };
  /**
   * Fairness/drift values for a version; undefined means no data (the gate blocks). Until monitoring
   * lands, the wiring passes `noGateMetrics`, which has no data for any gate.
   */
  gateMetrics: (input: {
    kind: 'fairness' | 'drift';
    model: string;
    version: number;
    metric: string;
  }) => Promise<number | undefined>;
}

/** The gate metrics of a platform without monitoring: no gate has a measurement (fairness and drift gates answer no_data). */
export const noGateMetrics: RegistryDeps['gateMetrics'] = async () => undefined;
