import { isAppError } from '../core/errors.js';
import {
  createDetector,
  type DetectorKind,
  detectorToMetricPoint,
  feedDetector,
  restoreDetector,
} from './detectors/index.js';
import { cbpeToMetricPoints, compareCbpe, estimateCbpe, realisedCbpeMetrics } from './estimation/index.js';
import { fairnessToMetricPoints, postTrainingBias } from './fairness/index.js';
import { labelledRows, positiveClass, taskOf } from './measure-performance.js';
import type { MonitorSpec } from './monitor-spec.schema.js';
import type { PointSink } from './point-builder.js';
import type { StoredCbpe } from './reference-cbpe.js';
import { inputOf, type ServedRow } from './window-traffic.js';

/*
 * What a window says about outcomes beyond the realised metrics, through the estimation library:
 * fairness on the protected attribute (Clarify's post-training metrics per group, from predictions
 * and delayed labels), concept drift detectors on the window's error stream, and CBPE estimates of
 * the window's performance before its labels arrive, calibrated on the reference. Each answers insufficient_data with the library's named reason rather than fail the run.
 */

const reasonOf = (err: unknown): string => {
  if (isAppError(err)) return err.message;
  throw err;
};

/** `fairness.<metric>` per group of the protected attribute (classifiers with labels). */
export function measureFairness(sink: PointSink, spec: MonitorSpec, rows: readonly ServedRow[]): void {
  const p = spec.protected;
  if (!p || rows.length === 0 || taskOf(spec, rows) !== 'classification') return;
  const positive = positiveClass(spec, rows);
  const got = labelledRows('classification', positive, rows);
  if ('error' in got) {
    sink.insufficient('fairness.dppl', got.error);
    return;
  }
  try {
    const report = postTrainingBias({
      attribute: p.attribute,
      facet: got.rows.map((r) => {
        const v = inputOf(r, p.attribute);
        return v === undefined ? null : (v as string | number | boolean | null);
      }),
      labels: got.labels,
      predictions: got.rows.map((r) => (String(r.prediction) === positive ? 1 : 0)),
      minGroupSize: p.minGroupSize,
    });
    sink.push(fairnessToMetricPoints(sink.scope, report));
  } catch (err) {
    sink.insufficient('fairness.dppl', reasonOf(err), { details: { attribute: p.attribute } });
  }
}

/** A detector's stored state, as the previous run left it. */
export interface PriorDetector {
  state: unknown;
  rowsSeen: number;
  windowEnd: number;
}

/** A detector's state after this window, to store for the next one. */
export interface NextDetector {
  detector: DetectorKind;
  state: unknown;
  rowsSeen: number;
  windowEnd: number;
}

/**
 * `concept.<detector>` on the window's labelled rows in serving order (1 = wrong, or the absolute
 * error). A detector resumes from the previous run's state when this window starts where that one
 * ended (or later), so consecutive windows are one stream and drift indices count from its start; a
 * re-run of an older window starts a fresh detector and leaves the stored state alone.
 */
export function measureDetectors(
  sink: PointSink,
  spec: MonitorSpec,
  rows: readonly ServedRow[],
  prior: ReadonlyMap<string, PriorDetector> = new Map(),
): NextDetector[] {
  if (spec.detectors.length === 0 || rows.length === 0) return [];
  const task = taskOf(spec, rows);
  const got = labelledRows(task, task === 'classification' ? positiveClass(spec, rows) : undefined, rows);
  if ('error' in got) {
    for (const kind of spec.detectors) sink.insufficient(`concept.${kind}`, got.error);
    return [];
  }
  const errors = got.labels.map((y, i) =>
    task === 'classification'
      ? Number((got.scores[i] as number) >= 0.5) === y
        ? 0
        : 1
      : Math.abs((got.scores[i] as number) - y),
  );
  const next: NextDetector[] = [];
  const { windowStart, windowEnd } = sink.scope;
  for (const kind of spec.detectors) {
    // DDM reads a 0/1 stream: a regressor's losses go to ADWIN and Page-Hinkley only.
    if (kind === 'ddm' && task === 'regression') {
      sink.insufficient('concept.ddm', 'DDM needs a 0/1 error stream; the model is a regressor');
      continue;
    }
    const before = prior.get(kind);
    const resumes = before !== undefined && windowStart >= before.windowEnd;
    const detector = resumes ? restoreDetector(before.state) : createDetector(kind);
    const offset = resumes ? before.rowsSeen : 0;
    const point = detectorToMetricPoint(sink.scope, detector, feedDetector(detector, errors, offset));
    point.details = { ...point.details, resumed: resumes, offset };
    sink.push([point]);
    if (before === undefined || resumes)
      next.push({ detector: kind, state: detector.state(), rowsSeen: offset + errors.length, windowEnd });
  }
  return next;
}

/**
 * `estimate.<metric>` (CBPE) for the window's scores with the reference's calibration (reference-cbpe.ts),
 * each point naming what it was calibrated on; once some of the window's labels are in, the realised
 * value sits beside the estimate (with whether it falls in the band).
 */
export function measureEstimates(
  sink: PointSink,
  spec: MonitorSpec,
  rows: readonly ServedRow[],
  calibration: StoredCbpe | { error: string } | undefined,
): void {
  if (!spec.estimation || rows.length === 0 || taskOf(spec, rows) !== 'classification') return;
  if (calibration === undefined) {
    sink.insufficient('estimate.accuracy', 'no reference yet to calibrate CBPE on');
    return;
  }
  if ('error' in calibration) {
    sink.insufficient('estimate.accuracy', `CBPE is not calibrated: ${calibration.error}`);
    return;
  }
  const { model } = calibration;
  const positive = positiveClass(spec, rows);
  const scores = rows.map((r) => (positive === undefined ? 0 : (r.probabilities?.[positive] ?? 0)));
  const estimate = estimateCbpe(model, scores);
  const labelled = labelledRows('classification', positive, rows);
  const realisedLabelled = 'error' in labelled ? 0 : labelled.labels.length;
  const comparison =
    'error' in labelled || labelled.labels.length === 0
      ? undefined
      : compareCbpe(estimate, realisedCbpeMetrics(model, labelled));
  sink.push(cbpeToMetricPoints(sink.scope, model, estimate, comparison ? { comparison } : {}), {
    calibratedOn: calibration.source,
    reference: calibration.sourceRef,
    ...(calibration.reason ? { fallbackReason: calibration.reason } : {}),
    ...(comparison ? { realisedLabelled } : {}),
  });
}
