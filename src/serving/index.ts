import path from 'node:path';
import type { DomainDeps } from '../core/domain-deps.js';
import { ConflictError } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { Actor, ModelVersion, RegisterEndpointBody, RegistryDomain } from '../registry/index.js';
import type { Store } from '../store/index.js';
import { createDeploymentService, splitModelRef } from './deployment.service.js';
import { createDeploymentHost, type IdleUnloadOptions } from './deployment-host.js';
import { createDeploymentRuntime, type DeploymentRuntime } from './deployment-runtime.js';
import { probeEndpoint } from './gateway/index.js';
import type { ExportWindow } from './ledger/index.js';
import {
  createFeedbackService,
  createPredictionExporter,
  createPredictionPruner,
  createPredictionStore,
  createSegmentReader,
  openPredictionLedger,
  type PredictionLogConfig,
  segmentWriter,
} from './ledger/index.js';
import { openModelFor } from './model-runner.js';
import type { ServingEvents } from './serving.events.js';
import type { Deployment, FeedbackItem, FeedbackOutcome, LedgerMode } from './serving.schema.js';
import { createServingMetrics } from './serving-metrics.js';

/** Batch scoring of a dataset version through the serving model code, recorded as a run with lineage. */
export {
  BATCH_ROWS,
  type BatchPredictApi,
  type BatchPredictOutcome,
  type BatchPredictRequest,
  batchPredict,
  openBatchModel,
  scoreRecords,
  typedColumnsCheck,
} from './batch/batch-predict.js';
/** Batch scoring and evaluation of external models through the gateway's runner, in upstream batches. */
export { openExternalScorer } from './batch/external-scoring.js';
/** Canary routing: a request key's bucket and side. */
export { canaryBucket, routesToChallenger } from './canary.js';
export type { DeploymentService } from './deployment.service.js';
export type { DeploymentHost, IdleUnloadOptions, ServingProcess } from './deployment-host.js';
export type {
  DeploymentRuntime,
  PredictOptions,
  PredictResponseItem,
  PredictResult,
} from './deployment-runtime.js';
/** A deployment's runtime: loads its models, follows the alias, predicts and logs. */
export { createDeploymentRuntime } from './deployment-runtime.js';
/** The gateway: an external model server's version opened as a ServingModel; a server probed before registration. */
export { openGatewayModel, probeEndpoint } from './gateway/index.js';
/** The prediction log as pages of columns (the store's scanColumns: what monitoring reads). */
export type { FeatureColumn, PredictionAnswer, PredictionColumns, RowLabel } from './ledger/index.js';
/** A prediction log export's columns, media types and window description. */
export { describeWindow, EXPORT_COLUMNS, EXPORT_MEDIA_TYPES, type ExportWindow } from './ledger/index.js';
/** A `text/csv` scoring body (header row + records), read as MLflow's scoring server reads it. */
export { CsvBody, readCsvBody } from './model/csv-body.js';
export { readNumericRecords } from './model/numeric-records.js';
/** The model runner seam: ONNX in process or an external server through the gateway. */
export { isServableFormat, openModelFor } from './model-runner.js';
/** Serving's event definitions (deployment.*, prediction.feedback.recorded). */
export * from './serving.events.js';
export * from './serving.schema.js';
export type { ServingMetrics } from './serving-metrics.js';

/** What serving is built from: the shared parts, the store the ledgers write to, and the registry. */
export interface ServingDeps extends DomainDeps {
  registry: RegistryDomain;
  /** The event bus (deployment.* and prediction.feedback.recorded). */
  events: ServingEvents;
  store: Store;
  logger?: Logger;
  /** How often runtimes re-resolve their refs and the host re-reads deployments (default 2000 ms). */
  pollIntervalMs?: number;
  /** Unload deployments nobody calls (the idle reaper's policy); unset: never. */
  idleUnload?: IdleUnloadOptions;
  /** Where the ledgers write (config.predictionLog). */
  predictionLog: PredictionLogConfig;
}

/** A name a deployment made by `sextant serve <model>@<ref>` gets when none is given: `<model>-<ref>`. */
export function defaultDeploymentName(modelRef: string): string {
  const { model, ref } = splitModelRef(modelRef);
  const name = `${model}-${ref}`.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (name || 'model').slice(0, 100);
}

/**
 * Builds serving: deployments (audited CRUD), the runtimes the server manages (opened lazily per
 * deployment), runtimes for `sextant serve`, the prediction store, feedback, metrics and a scorer
 * factory for explanations.
 */
export function createServingDomain(deps: ServingDeps) {
  const logger = deps.logger ?? silentLogger;
  const metrics = createServingMetrics();
  const deployments = createDeploymentService(deps);
  const segments = createSegmentReader({
    db: deps.db,
    blobs: deps.blobs,
    cacheDir: path.join(deps.predictionLog.dir, 'cache'),
  });
  const predictions = createPredictionStore({ db: deps.db, clock: deps.clock, segments });
  const feedback = createFeedbackService({
    db: deps.db,
    clock: deps.clock,
    audit: deps.audit,
    events: deps.events,
    segments,
  });
  /** Runtimes opened by openRuntime (sextant serve); the host keeps its own. */
  const standalone = new Set<DeploymentRuntime>();

  function runtimeFor(
    deployment: Deployment,
    o: {
      pollIntervalMs?: number | undefined;
      logger?: Logger | undefined;
      flushIntervalMs?: number | undefined;
    } = {},
  ): Promise<DeploymentRuntime> {
    const log = o.logger ?? logger;
    const log_ = deps.predictionLog;
    const ledger = openPredictionLedger({
      store: deps.store,
      clock: deps.clock,
      mode: deployment.ledgerMode,
      logger: log,
      ...(log_.storage === 'segments'
        ? {
            writer: segmentWriter({
              db: deps.db,
              blobs: deps.blobs,
              audit: deps.audit,
              clock: deps.clock,
              dir: log_.dir,
              maxRows: log_.maxRows,
              maxAgeMs: log_.maxAgeMs,
              logger: log,
            }),
          }
        : {}),
      ...(o.flushIntervalMs !== undefined ? { flushIntervalMs: o.flushIntervalMs } : {}),
    });
    return createDeploymentRuntime({
      deployment,
      registry: deps.registry,
      ledger,
      metrics,
      clock: deps.clock,
      pollIntervalMs: o.pollIntervalMs ?? deps.pollIntervalMs ?? 2000,
      logger: log,
    });
  }

  const host = createDeploymentHost({
    deployments,
    openRuntime: (d) => runtimeFor(d),
    pollIntervalMs: deps.pollIntervalMs ?? 2000,
    logger,
    metrics,
    now: () => deps.clock.now(),
    ...(deps.idleUnload ? { idleUnload: deps.idleUnload } : {}),
  });

  async function flushAll(): Promise<void> {
    await Promise.all([host.flush(), ...[...standalone].map((rt) => rt.flush())]);
  }

  /**
   * The runtime `sextant serve` runs: of an existing deployment (`deployment`), or of `<model>@<ref>`,
   * whose deployment (named `name`, default `<model>-<ref>`) is created on first use and reused after.
   */
  async function openRuntime(input: {
    actor: string;
    deployment?: string | undefined;
    model?: string | undefined;
    name?: string | undefined;
    ledgerMode?: LedgerMode | undefined;
    pollIntervalMs?: number | undefined;
    flushIntervalMs?: number | undefined;
    logger?: Logger | undefined;
  }): Promise<DeploymentRuntime> {
    let d: Deployment;
    if (input.deployment !== undefined) {
      d = await deployments.get(input.deployment);
    } else if (input.model !== undefined) {
      const { model, ref } = splitModelRef(input.model);
      const name = input.name ?? defaultDeploymentName(input.model);
      const found = await deployments.find(name);
      if (!found) {
        d = await deployments.create({
          actor: input.actor,
          name,
          model: input.model,
          ...(input.ledgerMode ? { ledgerMode: input.ledgerMode } : {}),
        });
      } else {
        const version = await deps.registry.versions.resolve(`${model}@${ref}`);
        if (
          (found.modelId ?? found.model) !== (found.modelId ? version.modelId : version.model) ||
          found.ref !== ref
        ) {
          throw new ConflictError(
            `deployment '${name}' follows ${found.model}@${found.ref}, not ${input.model}; name another deployment`,
            { field: 'name' },
          );
        }
        d =
          input.ledgerMode && input.ledgerMode !== found.ledgerMode
            ? await deployments.update({ actor: input.actor, name, ledgerMode: input.ledgerMode })
            : found;
      }
    } else {
      throw new ConflictError('openRuntime needs a deployment name or a <model>@<ref>');
    }
    const rt = await runtimeFor(d, input);
    standalone.add(rt);
    const close = rt.close;
    return {
      ...rt,
      close: async () => {
        standalone.delete(rt);
        await close();
      },
    };
  }

  const pruner = createPredictionPruner({
    db: deps.db,
    blobs: deps.blobs,
    audit: deps.audit,
    clock: deps.clock,
    cacheDir: path.join(deps.predictionLog.dir, 'cache'),
  });
  const exporter = createPredictionExporter({ clock: deps.clock, predictions, deployments });

  return {
    deployments,
    predictions,
    /** Retention: drops whole sealed segments of the log served before a time (audited). */
    prune: pruner,
    feedback: {
      /** Records delayed labels; the open ledgers are flushed first, so a just-served prediction is found. */
      submit: (input: {
        actor: string;
        items: FeedbackItem[];
        beforeLookup?: () => Promise<void>;
      }): Promise<FeedbackOutcome[]> =>
        feedback.submit({
          ...input,
          beforeLookup: async () => {
            await flushAll();
            await input.beforeLookup?.();
          },
        }),
    },
    /** The prediction log of a deployment over a window, as CSV, JSON lines or Parquet (the open ledgers flushed before counting). */
    exports: {
      ...exporter,
      count: async (w: ExportWindow) => {
        await flushAll();
        return exporter.count(w);
      },
    },
    host,
    metrics,
    /** Opens a version's bytes for scoring (explanations, monitoring's reference): ONNX or an external endpoint. */
    openScorer: (bytes: Uint8Array, version: ModelVersion) => openModelFor(bytes, version),
    /**
     * Registers an external model server as the next version of `model`: the server must answer a
     * probe now; its identity (metadata, artifact or probe digest) is recorded with the endpoint.
     */
    registerEndpoint: async (input: {
      actor: Actor;
      model: string;
      body: RegisterEndpointBody;
      datasetVersionIds: string[];
    }): Promise<ModelVersion> => {
      const probed = await probeEndpoint(input.model, input.body);
      return deps.registry.versions.registerEndpoint({
        actor: input.actor,
        model: input.model,
        spec: probed.spec,
        features: probed.features,
        declared: probed.declared,
        datasetVersionIds: input.datasetVersionIds,
        description: input.body.description,
      });
    },
    openRuntime,
    /** Drains every runtime this domain opened and flushes its ledger. */
    close: async (): Promise<void> => {
      await Promise.all([host.close(), ...[...standalone].map((rt) => rt.close())]);
    },
  };
}

export type ServingDomain = ReturnType<typeof createServingDomain>;
