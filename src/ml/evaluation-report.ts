import {
  type ClassificationMetrics,
  classificationMetrics,
  pick,
  type RegressionMetrics,
  regressionMetrics,
  type SliceResult,
  sliceMetrics,
} from './metrics.js';
import { classKey, type MulticlassMetrics, multiclassMetrics } from './multiclass-metrics.js';
import type { Task } from './trainers/index.js';

/** The metrics of one task, in full (for reports) and as flat scalars named as logged (for runs). */
export interface EvaluationSummary {
  full: ClassificationMetrics | MulticlassMetrics | RegressionMetrics;
  flat: Record<string, number>;
}

/**
 * Scalar metric names, as logged on runs (prefixed val_ there) and printed by `sextant evaluate`.
 * Multiclass: accuracy, f1_macro, f1_micro, precision_macro, recall_macro, log_loss and each
 * class's recall as recall.<class>.
 */
export function flatMetrics(
  m: ClassificationMetrics | MulticlassMetrics | RegressionMetrics,
): Record<string, number> {
  if ('macroF1' in m)
    return {
      accuracy: m.accuracy,
      f1_macro: m.macroF1,
      f1_micro: m.microF1,
      precision_macro: m.macroPrecision,
      recall_macro: m.macroRecall,
      log_loss: m.logLoss,
      ...Object.fromEntries(m.perClass.map((c) => [`recall.${classKey(c.class)}`, c.recall])),
    };
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

/**
 * Computes the task's metrics for labels (0/1, class indices with K > 2 `classes`, or values)
 * against predictions (P(positive), row-major [N, K] probabilities, or values).
 */
export function summarize(
  task: Task,
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  classes?: string[],
): EvaluationSummary {
  const full =
    task === 'regression'
      ? regressionMetrics(labels, predictions)
      : classes && classes.length > 2
        ? multiclassMetrics(labels, predictions, classes)
        : classificationMetrics(labels, predictions);
  return { full, flat: flatMetrics(full) };
}

/** The same metrics per value of a slice column. */
export function summarizeSlices(
  task: Task,
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  sliceValues: ArrayLike<unknown>,
  classes?: string[],
): SliceResult<EvaluationSummary>[] {
  const k = classes && classes.length > 2 ? classes.length : 1;
  return sliceMetrics(sliceValues, (rows) =>
    summarize(
      task,
      pick(labels, rows),
      k > 1 ? pickRows(predictions, rows, k) : pick(predictions, rows),
      classes,
    ),
  );
}

/** The given rows of a row-major [N, k] matrix. */
function pickRows(values: ArrayLike<number>, rows: number[], k: number): Float64Array {
  const out = new Float64Array(rows.length * k);
  rows.forEach((r, i) => {
    for (let c = 0; c < k; c++) out[i * k + c] = values[r * k + c]!;
  });
  return out;
}
