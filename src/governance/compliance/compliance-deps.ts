import type { AuditVerifyResult } from '../../audit/audit.schema.js';
import type { Clock } from '../../core/clock.js';
import type { DatasetVersion } from '../../data/dataset.schema.js';
import type { Alert, ListAlertsQuery } from '../../monitoring/alerts/alert.schema.js';
import type { MetricPoint } from '../../monitoring/metric-point.schema.js';
import type { SeriesQueryInput } from '../../monitoring/monitor.schema.js';
import type {
  AliasEvent,
  ModelVersion,
  PromotionRequest,
  RegisteredModel,
} from '../../registry/registry.schema.js';
import type { Deployment, Prediction } from '../../serving/serving.schema.js';
import type { Run } from '../../tracking/tracking.schema.js';
import type { Explanation } from '../explain/explanation.schema.js';
import type { PredictionTrace, TraceDataset, TraceGap, TraceRun } from '../trace/trace.schema.js';
import type { EvaluatePort } from './compliance-evaluation.js';

/** A prediction-log window: a model version's predictions, optionally one deployment's, in [since, until). */
export interface PredictionWindow {
  modelVersionId: string;
  deploymentId?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/**
 * What the compliance report reads, each a narrow port onto a service the wiring already built
 * (app/services.ts). Nothing here writes: making a report changes no state.
 */
export interface ComplianceDeps {
  clock: Clock;
  registry: {
    models: { get(name: string): Promise<RegisteredModel> };
    versions: { resolve(ref: string): Promise<ModelVersion> };
    aliases: { history(input: { model: string }): Promise<AliasEvent[]> };
    promotions: { list(q: { model: string; limit: number }): Promise<PromotionRequest[]> };
  };
  datasetVersions: { get(id: string): Promise<DatasetVersion> };
  /** The training run and data behind a version (governance's tracer). */
  origins(
    version: ModelVersion,
  ): Promise<{ run: TraceRun | null; datasets: TraceDataset[]; gaps: TraceGap[] }>;
  /** Runs that reproduce a run (tagged `sextant.reproduces=<run id>`), newest first. */
  reproductions(run: { id: string; experimentId: string }): Promise<Run[]>;
  deployments: {
    list(): Promise<Deployment[]>;
    get(nameOrId: string): Promise<Deployment>;
  };
  predictions: {
    list(q: PredictionWindow & { limit: number }): Promise<{ predictions: Prediction[] }>;
    count(q: PredictionWindow & { labelledOnly?: boolean }): Promise<number>;
  };
  series: { query(q: SeriesQueryInput): Promise<MetricPoint[]> };
  alerts: { list(q: ListAlertsQuery): Promise<Alert[]> };
  trace(predictionId: string): Promise<PredictionTrace>;
  explain(predictionId: string): Promise<{ explanation: Explanation }>;
  audit: { verify(): Promise<AuditVerifyResult> };
  /** Scores the version on a dataset version: ml's evaluateModel, as `sextant evaluate` runs it. */
  evaluate: EvaluatePort;
}
