import { type AuditLog, createAuditLog, resolveAuditKey } from '../audit/index.js';
import { createAuthService } from '../auth/index.js';
import { type BlobStore, createBlobStore } from '../blobs/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { DomainDeps } from '../core/domain-deps.js';
import { createDataDomain } from '../data/index.js';
import { createDataQualityDomain } from '../data/quality/index.js';
import { createGovernanceDomain } from '../governance/index.js';
import { createJobQueue } from '../jobs/index.js';
import { createRegistryDomain } from '../registry/index.js';
import { createWebhookService } from '../registry/webhooks/index.js';
import { createServingDomain } from '../serving/index.js';
import { openStore, type Store } from '../store/index.js';
import {
  createArtifactService,
  createExperimentService,
  createRunSearch,
  createRunService,
} from '../tracking/index.js';

export interface ServicesDeps {
  store: Store;
  blobs: BlobStore;
  clock: Clock;
  config: Config;
  auditKey: string;
}

/** Wires every domain service from the shared parts; the one place that knows them all. */
export function createServices({ store, blobs, clock, config, auditKey }: ServicesDeps) {
  const audit: AuditLog = createAuditLog({ db: store.db, dialect: store.dialect, clock, key: auditKey });
  const deps: DomainDeps = { db: store.db, dialect: store.dialect, audit, clock, blobs };
  const data = createDataDomain(deps);
  const runs = createRunService(deps, { resolveDatasetVersion: data.linkForRunInput });
  // Built before the registry, which emits its events into this outbox inside its transactions.
  const webhooks = createWebhookService({ ...deps, allow: config.webhookAllow });
  // A const so governance can resolve model refs through it.
  const registry = createRegistryDomain({
    ...deps,
    runs,
    artifacts: createArtifactService(deps),
    events: webhooks,
    datasetVersions: data.versions,
    dataQuality: createDataQualityDomain({ ...deps, versions: data.versions }),
  });
  const serving = createServingDomain({ ...deps, registry, store });
  return {
    config,
    clock,
    store,
    blobs,
    audit,
    auth: createAuthService({ db: store.db, audit, clock }),
    experiments: createExperimentService(deps),
    runs,
    runSearch: createRunSearch({ db: store.db, runs }),
    artifacts: createArtifactService(deps),
    data,
    dataQuality: createDataQualityDomain({ ...deps, versions: data.versions }),
    registry,
    webhooks,
    governance: createGovernanceDomain({
      ...deps,
      datasetVersions: data.versions,
      modelVersions: registry.versions,
      registry,
      runs,
      predictions: serving.predictions,
      openScorer: serving.openScorer,
      dataQuality: createDataQualityDomain({ ...deps, versions: data.versions }),
      deployments: serving.deployments,
    }),
    serving,
    // Background work: in-process on the database, or BullMQ when SEXTANT_REDIS_URL is set.
    jobs: createJobQueue(deps, { redisUrl: config.redisUrl, redisPrefix: config.redisPrefix }),
  };
}

export type Services = ReturnType<typeof createServices>;

/** The services of one workspace, plus how to close what they hold open. */
export interface Workspace extends Services {
  close(): Promise<void>;
}

/** Opens the database, blob store and audit key a Config names, and wires the services on them. */
export async function openWorkspace(config: Config, clock: Clock = systemClock): Promise<Workspace> {
  const store = await openStore(config.databaseUrl);
  const blobs = createBlobStore(config.blobUrl, { s3: config.s3 });
  const auditKey = resolveAuditKey(config.home, config.auditKey);
  const services = createServices({ store, blobs, clock, config, auditKey });
  return {
    ...services,
    close: async () => {
      // A CLI process sends what it emitted before it exits (briefly; retries are the server's job).
      await services.webhooks.close();
      // Workers finish their running attempts; the queue lets go of Redis.
      await services.jobs.close();
      // Deployments drain and their ledgers flush before the database closes under them.
      await services.serving.close();
      await blobs.close();
      await store.close();
    },
  };
}
