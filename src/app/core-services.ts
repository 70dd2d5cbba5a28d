import { createAuditLog, resolveAuditKey, workspaceWitness } from '../audit/index.js';
import { createAuthService } from '../auth/index.js';
import { type BlobStore, createBlobStore } from '../blobs/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { DomainDeps } from '../core/domain-deps.js';
import type { CostLedger } from '../cost/budgets/index.js';
import { createDataDomain } from '../data/index.js';
import type { SubscriberDeliveryOptions } from '../events/index.js';
import { openStore, type Store } from '../store/index.js';
import {
  createArtifactService,
  createExperimentService,
  createLoggedModelArtifactService,
  createLoggedModelService,
  createMultipartUploadService,
  createRunSearch,
  createRunService,
} from '../tracking/index.js';

/*
 * The lower floors of the wiring: audit, users, datasets and tracking. They need no event bus, job
 * queue, registry or serving, and this module imports none of them, so a CLI command that lists runs
 * or datasets loads and builds only these (services.ts builds the floors above on top of the same
 * instances; `extendServices`). A service a floor below needs from above comes in as a port there.
 */

export interface ServicesDeps {
  store: Store;
  blobs: BlobStore;
  clock: Clock;
  config: Config;
  auditKey: string;
  /** Retry timing of event deliveries (defaults: DEFAULT_SUBSCRIBER_DELIVERY); tests shorten it. */
  eventDelivery?: Partial<SubscriberDeliveryOptions>;
  /** Where budgets read spend (default: the cost domain's ledger); tests pass one with known spend. */
  costLedger?: CostLedger;
}

/** Builds the lower floors (audit, auth, data, tracking) from the shared parts, each exactly once. */
export function createCoreServices({ store, blobs, clock, config, auditKey }: ServicesDeps) {
  const audit = createAuditLog({
    db: store.db,
    dialect: store.dialect,
    clock,
    key: auditKey,
    witness: workspaceWitness(config.home, config.databaseUrl),
  });
  const deps: DomainDeps = { db: store.db, dialect: store.dialect, audit, clock, blobs };
  const auth = createAuthService({ db: store.db, audit, clock });
  const data = createDataDomain(deps);
  const experiments = createExperimentService(deps);
  const runs = createRunService(deps, { resolveDatasetVersion: data.linkForRunInput });
  const runSearch = createRunSearch({ db: store.db, runs });
  const artifacts = createArtifactService(deps);
  const loggedModels = createLoggedModelService(deps);
  const loggedModelArtifacts = createLoggedModelArtifactService(deps);
  const multipartUploads = createMultipartUploadService(deps, { artifacts });
  return {
    config,
    clock,
    store,
    blobs,
    audit,
    auth,
    experiments,
    runs,
    runSearch,
    artifacts,
    loggedModels,
    loggedModelArtifacts,
    multipartUploads,
    data,
  };
}

export type CoreServices = ReturnType<typeof createCoreServices>;

/** What every domain service is built from, taken from the core (the same audit log and blob store). */
export function domainDepsOf(core: CoreServices): DomainDeps {
  return {
    db: core.store.db,
    dialect: core.store.dialect,
    audit: core.audit,
    clock: core.clock,
    blobs: core.blobs,
  };
}

/** The core services of an open workspace, the parts they were built from, and how to close them. */
export interface CoreWorkspace extends CoreServices {
  /** What the floors above are built from (`extendServices(core, core.parts)`). */
  readonly parts: ServicesDeps;
  /** Closes the blob store and the database. */
  close(): Promise<void>;
}

/** Opens the database, blob store and audit key a Config names, and builds the core services on them. */
export async function openCoreWorkspace(config: Config, clock: Clock = systemClock): Promise<CoreWorkspace> {
  const store = await openStore(config.databaseUrl);
  const blobs = createBlobStore(config.blobUrl, { s3: config.s3 });
  const auditKey = resolveAuditKey(config.home, config.auditKey);
  const parts: ServicesDeps = { store, blobs, clock, config, auditKey };
  return {
    ...createCoreServices(parts),
    parts,
    close: async () => {
      await blobs.close();
      await store.close();
    },
  };
}
