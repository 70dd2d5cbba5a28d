import { ValidationError } from '../../core/errors.js';
import { createDetector, type DetectorOptions } from './create-detector.js';
import type { DetectorKind } from './detector.js';
import { feedDetector } from './feed-detector.js';

/** How a detector did on a stream with known change points. */
export interface DetectorEvaluation {
  kind: DetectorKind;
  rows: number;
  changes: number;
  /** Rows from each detected change to its first drift signal, in change order. */
  delays: number[];
  meanDelay: number | null;
  /** Drift signals not attributable to a change (before the first, or repeats after one was detected). */
  falseAlarms: number;
  falseAlarmsPer10k: number;
  /** Changes with no drift signal before the next change (or the end of the stream). */
  missed: number;
  /** Every drift signal's row index. */
  detections: number[];
}

/**
 * Runs a fresh detector over a stream and scores it against known change points: the first drift at
 * or after a change (and before the next) is its detection; every other drift is a false alarm.
 */
export function evaluateDetector(
  kind: DetectorKind,
  stream: ArrayLike<number>,
  changePoints: readonly number[],
  options: DetectorOptions = {},
): DetectorEvaluation {
  for (let i = 0; i < changePoints.length; i++) {
    const cp = changePoints[i]!;
    if (!Number.isInteger(cp) || cp < 0 || cp >= stream.length || (i > 0 && cp <= changePoints[i - 1]!)) {
      throw new ValidationError(`changePoints[${i}]: must be increasing row indices inside the stream`, {
        field: `changePoints[${i}]`,
      });
    }
  }
  const { drifts } = feedDetector(createDetector(kind, options), stream);
  const detected = new Array<boolean>(changePoints.length).fill(false);
  const delays: number[] = [];
  let falseAlarms = 0;
  for (const at of drifts) {
    // The latest change at or before this row.
    let c = -1;
    while (c + 1 < changePoints.length && changePoints[c + 1]! <= at) c++;
    if (c >= 0 && !detected[c]) {
      detected[c] = true;
      delays.push(at - changePoints[c]!);
    } else {
      falseAlarms++;
    }
  }
  const rows = stream.length;
  return {
    kind,
    rows,
    changes: changePoints.length,
    delays,
    meanDelay: delays.length > 0 ? delays.reduce((a, b) => a + b, 0) / delays.length : null,
    falseAlarms,
    falseAlarmsPer10k: rows > 0 ? (falseAlarms * 10_000) / rows : 0,
    missed: detected.filter((d) => !d).length,
    detections: drifts,
  };
}
