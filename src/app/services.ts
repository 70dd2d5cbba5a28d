import {
  type AuditLog,
  createAuditLog,
  createPredictionSealer,
  resolveAuditKey,
  workspaceWitness,
} from '../audit/index.js';
import { createAuthService } from '../auth/index.js';
import { type BlobStore, createBlobStore } from '../blobs/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { DomainDeps } from '../core/domain-deps.js';
import { createDataDomain } from '../data/index.js';
import { createDataQualityDomain } from '../data/quality/index.js';
import {
  createEventBus,
  createEventCatalogue,
  type EventDefinition,
  type SubscriberDeliveryOptions,
} from '../events/index.js';
import { createWebhookService } from '../events/webhooks/index.js';
import { createGovernanceDomain } from '../governance/index.js';
import { createJobQueue } from '../jobs/index.js';
import { createRegistryDomain, noGateMetrics, registryEvents } from '../registry/index.js';
import { createServingDomain, servingEvents } from '../serving/index.js';
import { openStore, type Store } from '../store/index.js';
import {
  createArtifactService,
  createExperimentService,
  createRunSearch,
  createRunService,
} from '../tracking/index.js';
import { eventsDeliverJob, predictionsSealJob } from './background.js';

/** Every event type the domains declare: the catalogue the bus checks emits and webhook targets against. */
export const eventDefinitions: readonly EventDefinition[] = [...registryEvents, ...servingEvents];

export interface ServicesDeps {
  store: Store;
  blobs: BlobStore;
  clock: Clock;
  config: Config;
  auditKey: string;
  /** Retry timing of event deliveries (defaults: DEFAULT_SUBSCRIBER_DELIVERY); tests shorten it. */
  eventDelivery?: Partial<SubscriberDeliveryOptions>;
}

/**
 * Wires every domain service from the shared parts; the one place that knows them all. Each service is
 * built exactly once, lower floors first, and handed to the floors above as a required dependency: a
 * missing one is a compile error here, never an "unavailable" at run time.
 */
export function createServices({ store, blobs, clock, config, auditKey, eventDelivery }: ServicesDeps) {
  const audit: AuditLog = createAuditLog({
    db: store.db,
    dialect: store.dialect,
    clock,
    key: auditKey,
    witness: workspaceWitness(config.home, config.databaseUrl),
  });
  const deps: DomainDeps = { db: store.db, dialect: store.dialect, audit, clock, blobs };
  const auth = createAuthService({ db: store.db, audit, clock });
  // Built before the domains, which emit their events into this outbox inside their transactions.
  const catalogue = createEventCatalogue(eventDefinitions);
  const webhooks = createWebhookService({
    ...deps,
    catalogue,
    allow: config.webhookAllow,
    secretKey: auditKey,
  });
  const events = createEventBus({
    db: store.db,
    clock,
    catalogue,
    webhooks,
    ...(eventDelivery ? { delivery: eventDelivery } : {}),
  });

  const data = createDataDomain(deps);
  const dataQuality = createDataQualityDomain({ ...deps, versions: data.versions });
  const experiments = createExperimentService(deps);
  const runs = createRunService(deps, { resolveDatasetVersion: data.linkForRunInput });
  const runSearch = createRunSearch({ db: store.db, runs });
  const artifacts = createArtifactService(deps);

  const registry = createRegistryDomain({
    ...deps,
    runs,
    artifacts,
    events,
    datasetVersions: data.versions,
    dataQuality,
    // Fairness and drift gates answer no_data until the monitoring domain supplies measurements.
    gateMetrics: noGateMetrics,
  });
  const serving = createServingDomain({ ...deps, registry, store, events });

  // Background work: in-process on the database, or BullMQ when SEXTANT_REDIS_URL is set. Every process
  // knows every kind; which processes work which queues is the entry point's choice.
  const jobs = createJobQueue(deps, { redisUrl: config.redisUrl, redisPrefix: config.redisPrefix });
  jobs.define(eventsDeliverJob(events));
  jobs.define(
    predictionsSealJob(createPredictionSealer({ db: store.db, dialect: store.dialect, audit, clock })),
  );

  const governance = createGovernanceDomain({
    ...deps,
    datasetVersions: data.versions,
    modelVersions: registry.versions,
    registry,
    runs,
    predictions: serving.predictions,
    openScorer: serving.openScorer,
    dataQuality,
    deployments: serving.deployments,
  });

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
    data,
    dataQuality,
    registry,
    events,
    webhooks,
    governance,
    serving,
    jobs,
  };
}

export type Services = ReturnType<typeof createServices>;

/** The services of one workspace, plus how to close what they hold open. */
export interface Workspace extends Services {
  /** The database itself, for whole-workspace operations (backup, restore, moving stores). */
  store: Store;
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
    store,
    close: async () => {
      // A CLI process delivers what it emitted before it exits (briefly; retries are the server's job).
      await services.events.close();
      // Workers finish their running attempts; the queue lets go of Redis.
      await services.jobs.close();
      // Deployments drain and their ledgers flush before the database closes under them.
      await services.serving.close();
      await blobs.close();
      await store.close();
    },
  };
}
