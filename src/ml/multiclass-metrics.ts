import { ValidationError } from '../core/errors.js';
import { LOG_LOSS_EPS } from './metrics.js';

/*
 * Metrics of a classifier with K > 2 classes: labels are class indices into `classes`, predictions
 * row-major [N, K] probabilities, and the predicted class is the most probable one (the first on a
 * tie, as the ONNX ArgMax picks it). Undefined ratios (precision of a class never predicted) are NaN
 * and stay out of the macro averages' denominators only when the class has no rows at all.
 */

export interface ClassMetrics {
  class: string;
  /** Rows whose label is this class. */
  support: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface MulticlassMetrics {
  count: number;
  classes: string[];
  accuracy: number;
  /** Unweighted means over the classes that have rows or predictions (a NaN precision counts as 0). */
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  /** Micro F1 pools every class's TP/FP/FN; with one label per row it equals the accuracy. */
  microF1: number;
  /** Mean -log p(true class), clipped to [LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]. */
  logLoss: number;
  perClass: ClassMetrics[];
  /** confusion[actual][predicted] row counts, in the order of `classes`. */
  confusion: number[][];
}

const ratio = (num: number, den: number): number => (den === 0 ? Number.NaN : num / den);

/** All multiclass metrics from class indices and [N, K] probabilities. */
export function multiclassMetrics(
  labels: ArrayLike<number>,
  probs: ArrayLike<number>,
  classes: string[],
): MulticlassMetrics {
  const k = classes.length;
  const n = labels.length;
  if (probs.length !== n * k)
    throw new ValidationError(
      `multiclassMetrics: ${n} labels need ${n * k} probabilities, got ${probs.length}`,
      {
        field: 'predictions',
      },
    );
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let ll = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= k)
      throw new ValidationError(`labels must be class indices in [0, ${k}), got ${y} at row ${i}`, {
        field: 'labels',
      });
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
    confusion[y]![best]!++;
    if (best === y) correct++;
    ll -= Math.log(Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, probs[i * k + y]!)));
  }
  const perClass: ClassMetrics[] = classes.map((name, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((s, v) => s + v, 0);
    const predicted = confusion.reduce((s, row) => s + row[c]!, 0);
    return {
      class: name,
      support,
      precision: ratio(tp, predicted),
      recall: ratio(tp, support),
      f1: ratio(2 * tp, support + predicted),
    };
  });
  // A class with neither rows nor predictions says nothing about the model: leave it out of the means.
  const present = perClass.filter((m, c) => m.support > 0 || confusion.some((row) => row[c]! > 0));
  const mean = (pick: (m: ClassMetrics) => number) =>
    ratio(
      present.reduce((s, m) => s + (Number.isNaN(pick(m)) ? 0 : pick(m)), 0),
      present.length,
    );
  return {
    count: n,
    classes: [...classes],
    accuracy: ratio(correct, n),
    macroPrecision: mean((m) => m.precision),
    macroRecall: mean((m) => m.recall),
    macroF1: mean((m) => m.f1),
    microF1: ratio(correct, n),
    logLoss: ratio(ll, n),
    perClass,
    confusion,
  };
}

/** A class label as part of a metric key: characters keys cannot hold become '_'. */
export function classKey(label: string): string {
  return label.replace(/[^\w\-.]/g, '_').slice(0, 100) || '_';
}
