import { ValidationError } from '../../core/errors.js';
import { rocAuc } from '../../ml/index.js';
import { checkSameLength, checkScores, toBinaryLabels } from '../binary-inputs.js';
import { applyIsotonic, expectedCalibrationError, fitIsotonic, type IsotonicMap } from './isotonic.js';

/*
 * Confidence-based performance estimation (the method NannyML calls CBPE) for a binary classifier:
 * with calibrated probabilities p, a row predicted positive is a true positive with probability p and a
 * false positive with 1 - p (a row predicted negative: false negative p, true negative 1 - p), so the
 * expected confusion matrix, and every metric built from it, needs no labels. The fitted model is
 * plain JSON (stored with the monitor) and the estimate is only as good as CBPE_ASSUMPTION.
 */

/** Said next to every estimate: when it stops being true, the estimate is wrong without warning. */
export const CBPE_ASSUMPTION =
  'valid only while P(y | x) is unchanged (no concept drift) and the reference calibration transfers to this traffic';

/** The metrics CBPE estimates, in the order reports show them. */
export const CBPE_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'rocAuc'] as const;
export type CbpeMetric = (typeof CBPE_METRICS)[number];

/** Defaults: rows below which nothing is estimated, the ECE above which scores get calibrated. */
export const CBPE_DEFAULTS = {
  threshold: 0.5,
  minRows: 100,
  maxEce: 0.05,
  minChunks: 3,
  bandWidth: 3,
} as const;

/** The reference has one class only: neither calibration nor a band can be learned from it. */
export class OneClassReferenceError extends ValidationError {
  constructor(positives: number, rows: number) {
    super(`labels: the reference has ${positives} positives out of ${rows} rows; CBPE needs both classes`, {
      field: 'labels',
      reason: 'one_class_reference',
      positives,
      rows,
    });
  }
}

/** Fitting input: the reference window's scores (P(positive)) and labels (0/1 or boolean). */
export interface CbpeFitInput {
  scores: ArrayLike<number>;
  labels: ArrayLike<unknown>;
  /** Decision threshold on the raw score: predicted positive when score >= threshold (default 0.5). */
  threshold?: number;
  /** Rows per reference chunk for the band (default: the larger of minRows and rows / 10). */
  chunkSize?: number;
  /** Fewer analysed rows than this give insufficient_data (default 100). */
  minRows?: number;
  /** Calibrate with isotonic regression when the raw scores' ECE exceeds this (default 0.05). */
  maxEce?: number;
}

/** Per metric over the reference chunks: the realised mean and standard deviation (null if undefined). */
export interface CbpeReferenceStat {
  mean: number | null;
  std: number | null;
  /** Chunks where the metric was defined (precision needs a predicted positive, AUC both classes). */
  chunks: number;
}

/** The fitted estimator: JSON-serialisable, stored with the monitor. */
export interface CbpeModel {
  kind: 'cbpe';
  version: 1;
  threshold: number;
  chunkSize: number;
  minRows: number;
  calibration: {
    method: 'none' | 'isotonic';
    /** ECE of the raw scores on the reference, and after calibration (in-sample, so optimistic). */
    eceBefore: number;
    eceAfter: number;
    maxEce: number;
    map: IsotonicMap | null;
  };
  reference: {
    rows: number;
    positives: number;
    chunks: number;
    metrics: Record<CbpeMetric, CbpeReferenceStat>;
  };
}

/** One estimated metric: the value, the band (value +- 3 std, clipped to [0, 1]) and why it is null. */
export interface CbpeValue {
  value: number | null;
  lower: number | null;
  upper: number | null;
  /** Reference chunk std scaled to this many rows: std x sqrt(chunkSize / rows). */
  std: number | null;
  /** Set when value is null: no_predicted_positives, no_expected_positives, too_few_rows, ... */
  reason?: string;
}

/** Expected confusion matrix (sums of probabilities, so fractional). */
export interface ExpectedConfusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** The estimate for one window. */
export interface CbpeEstimate extends Record<CbpeMetric, CbpeValue> {
  status: 'ok' | 'insufficient_data';
  rows: number;
  reason?: string;
  confusion: ExpectedConfusion | null;
  calibration: 'none' | 'isotonic';
  assumption: string;
}

/** Realised (or expected) metric values, null with a reason where undefined. */
export type CbpeMetricValues = Record<CbpeMetric, { value: number | null; reason?: string }>;

/** Fits CBPE on labelled reference data; throws OneClassReferenceError or ValidationError on bad input. */
export function fitCbpe(input: CbpeFitInput): CbpeModel {
  const scores = checkScores(input.scores, 'scores');
  const labels = toBinaryLabels(input.labels, 'labels');
  checkSameLength(scores, labels, 'labels', 'scores');
  const threshold = input.threshold ?? CBPE_DEFAULTS.threshold;
  if (!(threshold >= 0 && threshold <= 1)) throw bad('threshold', 'must be in [0, 1]');
  const minRows = input.minRows ?? CBPE_DEFAULTS.minRows;
  if (!Number.isInteger(minRows) || minRows < 1) throw bad('minRows', 'must be a positive integer');
  const maxEce = input.maxEce ?? CBPE_DEFAULTS.maxEce;
  if (!(maxEce >= 0 && maxEce <= 1)) throw bad('maxEce', 'must be in [0, 1]');
  const n = scores.length;
  const chunkSize = input.chunkSize ?? Math.max(minRows, Math.floor(n / 10));
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw bad('chunkSize', 'must be a positive integer');
  const chunks = Math.floor(n / chunkSize);
  if (chunks < CBPE_DEFAULTS.minChunks) {
    throw new ValidationError(
      `scores: the reference has ${n} rows, ${chunks} chunk(s) of ${chunkSize}; the band needs at least ${CBPE_DEFAULTS.minChunks}`,
      { field: 'scores', reason: 'reference_too_small', rows: n, chunkSize },
    );
  }
  let positives = 0;
  for (const y of labels) positives += y;
  if (positives === 0 || positives === n) throw new OneClassReferenceError(positives, n);

  const eceBefore = expectedCalibrationError(labels, scores);
  const calibrate = eceBefore > maxEce;
  const map = calibrate ? fitIsotonic(scores, labels) : null;
  const eceAfter = map
    ? expectedCalibrationError(
        labels,
        scores.map((s) => applyIsotonic(map, s)),
      )
    : eceBefore;

  // The band is the spread of the realised metric between reference chunks of the same size: the
  // sampling noise a window of that size shows even when nothing has changed.
  const perChunk: Record<CbpeMetric, number[]> = {
    accuracy: [],
    precision: [],
    recall: [],
    f1: [],
    rocAuc: [],
  };
  for (let c = 0; c < chunks; c++) {
    const s = scores.subarray(c * chunkSize, (c + 1) * chunkSize);
    const y = labels.subarray(c * chunkSize, (c + 1) * chunkSize);
    const realised = realisedValues(s, y, threshold);
    for (const m of CBPE_METRICS) {
      const v = realised[m].value;
      if (v !== null) perChunk[m].push(v);
    }
  }
  const metrics = Object.fromEntries(CBPE_METRICS.map((m) => [m, meanStd(perChunk[m])])) as Record<
    CbpeMetric,
    CbpeReferenceStat
  >;

  return {
    kind: 'cbpe',
    version: 1,
    threshold,
    chunkSize,
    minRows,
    calibration: { method: calibrate ? 'isotonic' : 'none', eceBefore, eceAfter, maxEce, map },
    reference: { rows: n, positives, chunks, metrics },
  };
}

/** Estimates accuracy, precision, recall, F1 and ROC AUC of unlabelled scores, each with its band. */
export function estimateCbpe(model: CbpeModel, scoresIn: ArrayLike<number>): CbpeEstimate {
  const scores = checkScores(scoresIn, 'scores');
  const n = scores.length;
  const calibration = model.calibration.method;
  if (n < model.minRows) {
    const reason = `too_few_rows: ${n} rows, the estimate needs at least ${model.minRows}`;
    const empty: CbpeValue = { value: null, lower: null, upper: null, std: null, reason: 'too_few_rows' };
    return {
      status: 'insufficient_data',
      rows: n,
      reason,
      confusion: null,
      calibration,
      assumption: CBPE_ASSUMPTION,
      ...(Object.fromEntries(CBPE_METRICS.map((m) => [m, { ...empty }])) as Record<CbpeMetric, CbpeValue>),
    };
  }
  const map = model.calibration.map;
  const probs = map ? scores.map((s) => applyIsotonic(map, s)) : scores;
  const confusion: ExpectedConfusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < n; i++) {
    const p = probs[i]!;
    if (scores[i]! >= model.threshold) {
      confusion.tp += p;
      confusion.fp += 1 - p;
    } else {
      confusion.fn += p;
      confusion.tn += 1 - p;
    }
  }
  const values = fromConfusion(confusion);
  values.rocAuc = expectedRocAuc(scores, probs);
  const scale = Math.sqrt(model.chunkSize / n);
  const out = Object.fromEntries(
    CBPE_METRICS.map((m) => {
      const { value, reason } = values[m];
      const refStd = model.reference.metrics[m].std;
      const std = refStd === null ? null : refStd * scale;
      const band: CbpeValue =
        value === null
          ? { value: null, lower: null, upper: null, std, ...(reason ? { reason } : {}) }
          : {
              value,
              lower: std === null ? null : clip01(value - CBPE_DEFAULTS.bandWidth * std),
              upper: std === null ? null : clip01(value + CBPE_DEFAULTS.bandWidth * std),
              std,
            };
      return [m, band];
    }),
  ) as Record<CbpeMetric, CbpeValue>;
  return { status: 'ok', rows: n, confusion, calibration, assumption: CBPE_ASSUMPTION, ...out };
}

/** Realised metrics once labels arrive, with the model's threshold (null where undefined, with reason). */
export function realisedCbpeMetrics(
  model: Pick<CbpeModel, 'threshold'>,
  input: { scores: ArrayLike<number>; labels: ArrayLike<unknown> },
): CbpeMetricValues {
  const scores = checkScores(input.scores, 'scores');
  const labels = toBinaryLabels(input.labels, 'labels');
  checkSameLength(scores, labels, 'labels', 'scores');
  return realisedValues(scores, labels, model.threshold);
}

/** One metric's estimate beside its realised value. */
export interface CbpeComparison {
  estimated: number | null;
  realised: number | null;
  lower: number | null;
  upper: number | null;
  /** realised - estimated; null if either is. */
  error: number | null;
  /** Whether the realised value lies in the band; null when either side is undefined. */
  withinBand: boolean | null;
}

/** Puts each estimate beside the realised value once labels arrive (the report shows both). */
export function compareCbpe(
  estimate: CbpeEstimate,
  realised: CbpeMetricValues,
): Record<CbpeMetric, CbpeComparison> {
  return Object.fromEntries(
    CBPE_METRICS.map((m) => {
      const e = estimate[m];
      const r = realised[m].value;
      const both = e.value !== null && r !== null;
      const withinBand = both && e.lower !== null && e.upper !== null ? r! >= e.lower && r! <= e.upper : null;
      return [
        m,
        {
          estimated: e.value,
          realised: r,
          lower: e.lower,
          upper: e.upper,
          error: both ? r! - e.value! : null,
          withinBand,
        },
      ];
    }),
  ) as Record<CbpeMetric, CbpeComparison>;
}

function realisedValues(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): CbpeMetricValues {
  const c: ExpectedConfusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (labels[i] === 1) predicted ? c.tp++ : c.fn++;
    else predicted ? c.fp++ : c.tn++;
  }
  const values = fromConfusion(c);
  const auc = rocAuc(labels, scores);
  values.rocAuc = Number.isNaN(auc) ? { value: null, reason: 'one_class' } : { value: auc };
  return values;
}

function fromConfusion(c: ExpectedConfusion): CbpeMetricValues {
  const n = c.tp + c.fp + c.tn + c.fn;
  const predictedPos = c.tp + c.fp;
  const actualPos = c.tp + c.fn;
  const f1Denominator = 2 * c.tp + c.fp + c.fn;
  return {
    accuracy: n > 0 ? { value: (c.tp + c.tn) / n } : { value: null, reason: 'no_rows' },
    precision:
      predictedPos > 0 ? { value: c.tp / predictedPos } : { value: null, reason: 'no_predicted_positives' },
    recall: actualPos > 0 ? { value: c.tp / actualPos } : { value: null, reason: 'no_expected_positives' },
    f1: f1Denominator > 0 ? { value: (2 * c.tp) / f1Denominator } : { value: null, reason: 'no_positives' },
    rocAuc: { value: null, reason: 'not_computed' },
  };
}

/**
 * Expected ROC AUC: rows ranked by the raw score (the ranking the deployed model makes), each
 * threshold's expected TPR = sum p / sum p and FPR = sum (1 - p) / sum (1 - p) over rows at or above
 * it, integrated by trapezoids (tied scores move together, as in the realised AUC's midranks).
 */
function expectedRocAuc(
  scores: ArrayLike<number>,
  probs: ArrayLike<number>,
): { value: number | null; reason?: string } {
  const n = scores.length;
  let totalPos = 0;
  for (let i = 0; i < n; i++) totalPos += probs[i]!;
  const totalNeg = n - totalPos;
  if (totalPos <= 0 || totalNeg <= 0) return { value: null, reason: 'one_expected_class' };
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let tp = 0;
  let fp = 0;
  let auc = 0;
  for (let k = 0; k < n; ) {
    const s = scores[order[k]!]!;
    const tp0 = tp;
    const fp0 = fp;
    while (k < n && scores[order[k]!] === s) {
      tp += probs[order[k]!]!;
      fp += 1 - probs[order[k]!]!;
      k++;
    }
    auc += ((fp - fp0) / totalNeg) * ((tp + tp0) / (2 * totalPos));
  }
  return { value: auc };
}

function meanStd(values: number[]): CbpeReferenceStat {
  if (values.length === 0) return { mean: null, std: null, chunks: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, std: null, chunks: values.length };
  // Sample standard deviation (n - 1): a handful of chunks would understate the spread otherwise.
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (values.length - 1)), chunks: values.length };
}

const clip01 = (v: number) => Math.min(1, Math.max(0, v));

function bad(field: string, why: string): ValidationError {
  return new ValidationError(`${field}: ${why}`, { field });
}
