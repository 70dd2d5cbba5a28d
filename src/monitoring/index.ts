import { NotFoundError } from '../core/errors.js';
import type { DatasetFairnessQuery } from './dataset-fairness.schema.js';
import { datasetFairness } from './dataset-fairness.service.js';
import type { MonitorRunResult, SeriesQueryInput } from './monitor.schema.js';
import { createMonitorService } from './monitor.service.js';
import { createMonitorRunService } from './monitor-run.service.js';
import type { MonitoringDeps } from './monitoring-deps.js';
import { querySeries, runPoints } from './series.js';

/*
 * Model-aware monitoring: monitors over deployments, references, runs over windows of the prediction
 * log, and the time series of metric points that alerts, reports and registry gates read.
 */

/** Binary label and score checks shared by estimation, detectors and fairness. */
export { checkScores, LabelTypeError, toBinaryLabels } from './binary-inputs.js';
/** Pre-training fairness (CI, DPL) of a dataset version: the query and the answer. */
export {
  type DatasetFairness,
  type DatasetFairnessQuery,
  datasetFairnessQuerySchema,
  datasetFairnessSchema,
} from './dataset-fairness.schema.js';
/** Concept drift detectors (DDM, ADWIN, Page-Hinkley) on error streams. */
export * from './detectors/index.js';
/** Performance estimation without labels (CBPE). */
export * from './estimation/index.js';
/** Fairness: SageMaker Clarify's bias metrics per protected-attribute group. */
export * from './fairness/index.js';
/** The registry's gateMetrics port answered from the latest points of a model version. */
export { createGateMetrics, type GateMetricQuery } from './gate-metrics.js';
/** Performance metric names a monitor may ask for (the evaluation module's). */
export { PERFORMANCE_METRICS } from './measure-performance.js';
/** The time series table's filter (M4 and the report read through querySeries). */
export type { PointFilter } from './metric-point.repo.js';
export * from './metric-point.schema.js';
/** What every point of one monitor run shares (ids and window), for the `toMetricPoints` helpers. */
export type { MetricPointContext } from './metric-point-context.js';
export * from './monitor.schema.js';
export type { MonitorService } from './monitor.service.js';
export type { MonitorRunService, RunWindow } from './monitor-run.service.js';
/** Parses monitor.yaml; errors name the field. */
export { parseMonitorSpec } from './monitor-spec.js';
export * from './monitor-spec.schema.js';
/** monitor.run.completed and the emitter port typed by it. */
export * from './monitoring.events.js';
/** The job kinds that run monitors on a schedule (once per window across replicas). */
export {
  MONITORING_RUN_JOB,
  MONITORING_SCHEDULE_EVERY_MS,
  MONITORING_SCHEDULE_JOB,
  monitoringRunJob,
  monitoringScheduleJob,
} from './monitoring.jobs.js';
/** What monitoring is built from; the port that scores a version's training rows for CBPE. */
export type { MonitoringDeps, ReferenceScorer, ReferenceScores } from './monitoring-deps.js';
/** Query points by monitor, deployment, model version, metric, feature, slice, time; a run's points. */
export { querySeries, runPoints, toPoint } from './series.js';

/** Builds monitoring: monitors (CRUD), runs (on demand and for jobs) and the series read side. */
export function createMonitoringDomain(deps: MonitoringDeps) {
  const monitors = createMonitorService(deps);
  const runs = createMonitorRunService(deps);
  return {
    monitors,
    runs,
    series: {
      /** Points matching the query, oldest window first. */
      query: (q: SeriesQueryInput) => querySeries(deps.db, q),
      /** The points one run wrote. */
      ofRun: (runId: string) => runPoints(deps.db, runId),
    },
    /** Clarify's pre-training bias (CI, DPL) of a labelled dataset version, with group sizes. */
    fairness: (q: DatasetFairnessQuery) => datasetFairness(deps, q),
    /** Runs every live monitor of a deployment (or the one named) over [from, to) or its latest window. */
    async runDeployment(input: {
      actor: string;
      deployment: string;
      monitor?: string | undefined;
      from?: number | undefined;
      to?: number | undefined;
    }): Promise<MonitorRunResult[]> {
      const list = await monitors.list({ deployment: input.deployment });
      const chosen = input.monitor
        ? list.filter((m) => m.name === input.monitor || m.id === input.monitor)
        : list;
      if (chosen.length === 0)
        throw new NotFoundError('monitor', input.monitor ?? `any on deployment ${input.deployment}`);
      const out: MonitorRunResult[] = [];
      for (const m of chosen)
        out.push(
          await runs.run({
            actor: input.actor,
            monitorId: m.id,
            from: input.from,
            to: input.to,
            trigger: 'manual',
          }),
        );
      return out;
    },
  };
}

export type MonitoringDomain = ReturnType<typeof createMonitoringDomain>;
