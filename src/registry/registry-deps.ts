import type { Role } from '../auth/index.js';
import type { DomainDeps } from '../core/domain-deps.js';
import type { Tx } from '../store/index.js';
import type { ArtifactService, RunService } from '../tracking/index.js';

/** Who asks: the name the audit trail shows and the role the policy checks. */
export interface Actor {
  name: string;
  role: Role;
}

export type RegistryEventType =
  | 'model_version.created'
  | 'promotion_request.opened'
  | 'promotion_request.decided'
  | 'alias.moved'
  | 'alias.rolled_back';

export interface RegistryEvent {
  type: RegistryEventType;
  payload: Record<string, unknown>;
}

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
 * registry imports no other domain: webhooks (events), dataset versions and their quality results,
 * and, later, the monitoring metrics that fairness and drift gates read.
 */
export interface RegistryDeps extends DomainDeps {
  runs: Pick<RunService, 'get'>;
  artifacts: Pick<ArtifactService, 'list' | 'stat'>;
  /** Writes an outbox row in the caller's transaction (webhooks); delivery happens after commit. */
  events?: { emit?(tx: Tx, event: RegistryEvent): Promise<unknown> };
  datasetVersions?: { get?(id: string): Promise<DatasetVersionFacts> };
  dataQuality?: {
    latestResults?(versionId: string): Promise<{ suite: string; passed: boolean; at: string }[]>;
  };
  /** Fairness/drift values for a version; undefined means no data (the gate blocks). */
  gateMetrics?: (input: {
    kind: 'fairness' | 'drift';
    model: string;
    version: number;
    metric: string;
  }) => Promise<number | undefined>;
}
