import {
  type ClassificationMetrics,
  classificationMetrics,
  pick,
  type RegressionMetrics,
  regressionMetrics,
  type SliceResult,
  sliceMetrics,
} from './metrics.js';
import type { Task } from './trainers/index.js';

/** The metrics of one task, in full (for reports) and as flat scalars named as logged (for runs). */
export interface EvaluationSummary {
  full: ClassificationMetrics | RegressionMetrics;
  flat: Record<string, number>;
}

/** Scalar metric names, as logged on runs (prefixed val_ there) and printed by `sextant evaluate`. */
export function flatMetrics(m: ClassificationMetrics | RegressionMetrics): Record<string, number> {
  if ('rocAuc' in m)
    return {
      accuracy: m.accuracy,
      precision: m.precision,
      recall: m.recall,
      f1: m.f1,
      roc_auc: m.rocAuc,
      pr_auc: m.prAuc,
      log_loss: m.logLoss,
      brier: m.brier,
    };
  return { mae: m.mae, rmse: m.rmse, r2: m.r2, mape: m.mape };
}

/** Computes the task's metrics for labels (0/1 or values) against predictions. */
export function summarize(
  task: Task,
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
): EvaluationSummary {
  const full =
    task === 'classification'
      ? classificationMetrics(labels, predictions)
      : regressionMetrics(labels, predictions);
  return { full, flat: flatMetrics(full) };
}

/** The same metrics per value of a slice column. */
export function summarizeSlices(
  task: Task,
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  sliceValues: ArrayLike<unknown>,
): SliceResult<EvaluationSummary>[] {
  return sliceMetrics(sliceValues, (rows) => summarize(task, pick(labels, rows), pick(predictions, rows)));
}
