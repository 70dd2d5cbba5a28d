import os from 'node:os';
import path from 'node:path';
import { createPredictionSealer } from '../audit/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { budgetEvents, budgetsCheckJob, createBudgetsDomain } from '../cost/budgets/index.js';
import { createCostDomain, deploymentMeterJob, meterJobs, storageMeterJob } from '../cost/index.js';
import { createAutoscalerMetrics, createReaper, loadReaperPolicy } from '../cost/reaper/index.js';
import { createDataQualityDomain } from '../data/quality/index.js';
import { createEventBus, createEventCatalogue, type EventDefinition } from '../events/index.js';
import { createWebhookService } from '../events/webhooks/index.js';
import { createComplianceReporter, createGovernanceDomain } from '../governance/index.js';
import { createJobQueue } from '../jobs/index.js';
import { createTrialThreads, evaluateModel } from '../ml/index.js';
import { alertEvents, createAlertsDomain } from '../monitoring/alerts/index.js';
import {
  createGateMetrics,
  createMonitoringDomain,
  monitoringEvents,
  monitoringRunJob,
  monitoringScheduleJob,
} from '../monitoring/index.js';
import { createMonitoringMetrics, createReportService } from '../monitoring/report/index.js';
import { createPipelinesDomain, pipelineEvents } from '../pipelines/index.js';
import {
  createTriggersDomain,
  TRIGGERABLE_EVENT_TYPES,
  triggersTickJob,
} from '../pipelines/triggers/index.js';
import { createRegistryDomain, registryEvents } from '../registry/index.js';
import { createServingDomain, servingEvents } from '../serving/index.js';
import { alertSeriesOf, alertTargetsOf, evaluateAlertsOnRun } from './alerts-wiring.js';
import { eventsDeliverJob, predictionsSealJob, pruneJob, SYSTEM_QUEUE } from './background.js';
import {
  type CoreServices,
  type CoreWorkspace,
  createCoreServices,
  domainDepsOf,
  openCoreWorkspace,
  type ServicesDeps,
} from './core-services.js';
import { servicesMlApi } from './ml-api.js';
import { referenceScoresOf } from './monitoring-reference-scores.js';
import { builtinSteps, pipelineDatasets, pipelineTracking } from './pipeline-ports.js';
import { sweepTrialJob } from './sweep-trials.js';

export type { ServicesDeps } from './core-services.js';

/** Every event type the domains declare: the catalogue the bus checks emits and webhook targets against. */
export const eventDefinitions: readonly EventDefinition[] = [
  ...registryEvents,
  ...servingEvents,
  ...pipelineEvents,
  ...budgetEvents,
  ...monitoringEvents,
  ...alertEvents,
];

/**
 * Wires every domain service from the shared parts; the one place that knows them all. Each service is
 * built exactly once, lower floors first, and handed to the floors above as a required dependency: a
 * missing one is a compile error here, never an "unavailable" at run time.
 */
export function createServices(parts: ServicesDeps) {
  return extendServices(createCoreServices(parts), parts);
}

/**
 * Builds the floors above the core (events, webhooks, data quality, registry, serving, jobs,
 * governance) on core services already built from the same parts: the CLI opens the core first and
 * extends it only when a command needs more (core-services.ts).
 */
export function extendServices(
  core: CoreServices,
  { config, auditKey, eventDelivery, costLedger }: ServicesDeps,
) {
  const { store, clock, audit, data, experiments, runs, runSearch, artifacts } = core;
  const deps = domainDepsOf(core);
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

  const dataQuality = createDataQualityDomain({ ...deps, versions: data.versions });

  const registry = createRegistryDomain({
    ...deps,
    runs,
    artifacts,
    events,
    datasetVersions: data.versions,
    dataQuality,
    // Fairness and drift gates read the latest monitor points of the version (no points: no_data).
    gateMetrics: createGateMetrics({ db: store.db }),
  });
  // The idle reaper's policy (defaults without the file): deployments nobody calls unload their model.
  const reaper = createReaper({ ...deps, policy: loadReaperPolicy(path.join(config.home, 'reaper.yaml')) });
  const deploymentIdleMs = reaper.policy.deployments.idleMinutes * 60_000;
  const recordQuietly = (p: Promise<unknown>) => void p.catch(() => {});
  const serving = createServingDomain({
    ...deps,
    registry,
    store,
    events,
    predictionLog: config.predictionLog,
    ...(deploymentIdleMs > 0
      ? {
          idleUnload: {
            afterMs: deploymentIdleMs,
            onUnload: (e) =>
              recordQuietly(
                reaper.record({ kind: 'deployment_unload', target: e.deployment, idleMs: e.idleMs }),
              ),
            onWake: (e) =>
              recordQuietly(
                reaper.record({ kind: 'deployment_wake', target: e.deployment, coldStartMs: e.coldStartMs }),
              ),
          },
        }
      : {}),
  });
  const monitoring = createMonitoringDomain({
    ...deps,
    deployments: serving.deployments,
    versions: registry.versions,
    datasets: data.versions,
    predictions: serving.predictions,
    events,
    referenceScores: referenceScoresOf({
      blobs: deps.blobs,
      datasets: data.versions,
      download: (ref) => registry.versions.download(ref),
      openScorer: serving.openScorer,
    }),
  });

  // Background work: in-process on the database, or BullMQ when SEXTANT_REDIS_URL is set. Every process
  // knows every kind; which processes work which queues is the entry point's choice.
  const cost = createCostDomain({ db: store.db, audit, clock, served: serving.predictions });
  // Budgets read spend from the cost ledger and answer the queue's admission questions: an exhausted
  // one refuses and holds work in its scope.
  const budgets = createBudgetsDomain({
    ...deps,
    events,
    ledger: costLedger ?? cost.ledger,
    experiments,
    runs,
  });
  // Every attempt of user work (trials, steps, jobs on workers) is metered where it runs; the platform's
  // own upkeep on the system queue is overhead, not anyone's cost, and would flood the usage table.
  const jobs = meterJobs(
    createJobQueue(
      { ...deps, admission: budgets.admission },
      { redisUrl: config.redisUrl, redisPrefix: config.redisPrefix },
    ),
    (usage) => cost.usage.record({ actor: 'worker', ...usage }),
    { skip: (kind) => kind.queue === SYSTEM_QUEUE },
  );
  jobs.define(eventsDeliverJob(events));
  jobs.define(pruneJob({ db: store.db, clock, audit, retentionDays: config.retentionDays }));
  // Sweep trials fit in worker threads of whichever process takes their jobs.
  const trialThreads = createTrialThreads();
  jobs.define(
    sweepTrialJob({
      services: { experiments, runs, artifacts, data },
      runSearch,
      db: store.db,
      threads: trialThreads,
      workDir: os.tmpdir(),
    }),
  );
  jobs.define(budgetsCheckJob(budgets, SYSTEM_QUEUE));
  jobs.define(
    deploymentMeterJob({
      db: store.db,
      clock,
      served: serving.predictions,
      queue: SYSTEM_QUEUE,
      record: (records) => cost.usage.recordMany({ actor: 'system', records }),
    }),
  );
  jobs.define(
    storageMeterJob({
      db: store.db,
      clock,
      queue: SYSTEM_QUEUE,
      record: (records) => cost.usage.recordMany({ actor: 'system', records }),
    }),
  );
  jobs.define(
    predictionsSealJob(createPredictionSealer({ db: store.db, dialect: store.dialect, audit, clock })),
  );

  jobs.define(monitoringRunJob(monitoring.runs));
  jobs.define(
    monitoringScheduleJob({
      monitors: monitoring.monitors,
      runs: monitoring.runs,
      enqueue: (name, payload, options) => jobs.enqueue(name, payload, options),
      now: () => clock.now(),
    }),
  );

  // Pipelines run their steps as jobs; `run:` steps of registered pipelines execute in this folder.
  const pipelinePorts = { experiments, runs, artifacts, data, dataQuality, registry, auth: core.auth, jobs };
  const pipelines = createPipelinesDomain({
    ...deps,
    jobs,
    events,
    datasets: pipelineDatasets(pipelinePorts),
    tracking: pipelineTracking(pipelinePorts),
    builtins: builtinSteps(pipelinePorts),
    workdir: process.cwd(),
  });

  const triggers = createTriggersDomain({
    db: store.db,
    clock,
    audit,
    starter: pipelines.starter,
    datasets: data.versions,
    eventTypes: TRIGGERABLE_EVENT_TYPES.filter((t) => catalogue.has(t)),
  });
  if (triggers.subscriber) events.subscribe(triggers.subscriber);
  jobs.define(triggersTickJob(triggers, SYSTEM_QUEUE));

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

  // Alerts judge each completed monitor run (a subscriber of monitor.run.completed, so once per run
  // across replicas); the report and the gauges read monitoring's stored series.
  const metricSeries = alertSeriesOf(monitoring);
  const alerts = createAlertsDomain({
    ...deps,
    events,
    logger: createLogger(config.logLevel),
    history: metricSeries,
    targets: alertTargetsOf(registry, serving),
  });
  events.subscribe(evaluateAlertsOnRun(monitoring, alerts));
  const monitoringReport = createReportService({
    clock,
    series: metricSeries,
    alerts,
    deployment: (nameOrId) => serving.deployments.get(nameOrId),
  });
  // The compliance report reads every floor below governance; making one changes nothing.
  const compliance = createComplianceReporter({
    clock,
    registry,
    datasetVersions: data.versions,
    origins: (version) => governance.trace.versionOrigins(version),
    reproductions: async (run) =>
      (
        await runSearch.search({
          experimentIds: [run.experimentId],
          filter: `tags."sextant.reproduces" = '${run.id.replace(/'/g, "''")}'`,
          orderBy: ['attributes.start_time DESC'],
          maxResults: 20,
        })
      ).runs,
    deployments: serving.deployments,
    predictions: serving.predictions,
    series: monitoring.series,
    alerts,
    trace: (id) => governance.trace.trace(id),
    explain: (id) => governance.explain.explainPrediction(id),
    audit: { verify: () => audit.verify() },
    // Section 4 scores the version as `sextant evaluate` does; evaluating reads, so no actor writes.
    evaluate: (req) =>
      evaluateModel(
        servicesMlApi({ experiments, runs, artifacts, data }, 'compliance-report'),
        { ...req, workDir: os.tmpdir() },
        {
          resolve: (ref) => registry.versions.resolve(ref),
          download: async (ref) => {
            const chunks: Buffer[] = [];
            for await (const c of (await registry.versions.download(ref)).stream) chunks.push(c as Buffer);
            return new Uint8Array(Buffer.concat(chunks));
          },
        },
      ),
  });
  const monitoringMetrics = createMonitoringMetrics({
    latestPoints: () => metricSeries.latest(),
    deploymentNames: async () => new Map((await serving.deployments.list()).map((d) => [d.id, d.name])),
    openAlertsBySeverity: () => alerts.openBySeverity(),
  });

  return {
    ...core,
    alerts,
    monitoringReport,
    monitoringMetrics,
    dataQuality,
    registry,
    events,
    webhooks,
    governance,
    compliance,
    serving,
    monitoring,
    jobs,
    trialThreads,
    pipelines,
    triggers,
    budgets,
    reaper,
    // Queue depth and worker busy share on /metrics, for KEDA or an HPA to scale workers on.
    autoscalerMetrics: createAutoscalerMetrics(jobs),
    cost,
  };
}

export type Services = ReturnType<typeof createServices>;

/** The services of one workspace, plus how to close what they hold open. */
export interface Workspace extends Services {
  close(): Promise<void>;
}

/** Opens the database, blob store and audit key a Config names, and wires the services on them. */
export async function openWorkspace(config: Config, clock: Clock = systemClock): Promise<Workspace> {
  return completeWorkspace(await openCoreWorkspace(config, clock));
}

/** Builds the floors above an open core workspace; closing the result closes the core too. */
export function completeWorkspace(core: CoreWorkspace): Workspace {
  const { parts, close: closeCore, ...coreServices } = core;
  const services = extendServices(coreServices, parts);
  return {
    ...services,
    close: async () => {
      // A CLI process delivers what it emitted before it exits (briefly; retries are the server's job).
      await services.events.close();
      // Workers finish their running attempts; the queue lets go of Redis.
      await services.jobs.close();
      await services.trialThreads.close();
      // Deployments drain and their ledgers flush before the database closes under them.
      await services.serving.close();
      await closeCore();
    },
  };
}
