import type { DomainDeps } from '../core/domain-deps.js';
import type { DatasetVersion } from '../data/dataset.schema.js';
import type { ValidationResult } from '../data/quality/suite.schema.js';
import type { AliasAt, AliasEvent, ModelVersion, PromotionRequest } from '../registry/registry.schema.js';
import type { Deployment, Prediction } from '../serving/serving.schema.js';
import type { Run } from '../tracking/tracking.schema.js';

/** The part of the data domain governance reads: versions by ref and by id (services.data.versions). */
export interface DatasetVersionSource {
  resolve(ref: string): Promise<Pick<DatasetVersion, 'id'>>;
  get(id: string): Promise<DatasetVersion>;
}

/** The part of the registry governance reads: `<model>@<n|alias>` to a version (services.registry.versions). */
export interface ModelVersionSource {
  resolve(ref: string): Promise<{ id: string }>;
}

/** The registry reads of a prediction trace and of explanations (services.registry). */
export interface RegistryReader {
  versions: {
    resolve(ref: string): Promise<ModelVersion>;
    download(ref: string): Promise<{ version: ModelVersion; stream: NodeJS.ReadableStream }>;
  };
  aliases: {
    at(input: { model: string; alias?: string | undefined; at: string }): Promise<AliasAt[]>;
    history(input: { model: string; alias?: string | undefined }): Promise<AliasEvent[]>;
  };
  /** The request behind an alias move (who asked, why); the trace shows it. */
  promotions: { get(id: string): Promise<PromotionRequest> };
}

/** Logged predictions (services.serving.predictions). */
export interface PredictionReader {
  get(id: string): Promise<Prediction>;
}

/** A model loaded for scoring: P(positive) for a classifier, the value for a regressor, per record. */
export interface Scorer {
  score(rows: Record<string, unknown>[]): Promise<Float64Array>;
  release(): Promise<void>;
}

/** Opens a model version's bytes for scoring (serving's runtime, wired in app/services.ts). */
export type ScorerFactory = (bytes: Uint8Array, version: ModelVersion) => Promise<Scorer>;

/** What the governance services are built from: the shared parts plus the readers of lower domains. */
export interface GovernanceDeps extends DomainDeps {
  datasetVersions: DatasetVersionSource;
  modelVersions: ModelVersionSource;
  registry: RegistryReader;
  runs: { get(id: string): Promise<Run> };
  predictions: PredictionReader;
  openScorer: ScorerFactory;
  /** Stored quality results of a dataset version by ref, newest first (services.dataQuality); the trace shows them. */
  dataQuality: { results(ref: string): Promise<ValidationResult[]> };
  /** Deployments by name or id (services.serving.deployments); the trace names the one that served. */
  deployments: { get(nameOrId: string): Promise<Deployment> };
}
