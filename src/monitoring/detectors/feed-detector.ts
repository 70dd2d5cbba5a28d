import type { ConceptDriftDetector, DetectorSignal } from './detector.js';
import { SIGNAL_RANK } from './detector.js';

/** What a batch of rows (one monitor window) did to a detector. */
export interface DetectorBatchResult {
  /** The most severe signal of the batch. */
  signal: DetectorSignal;
  /** Row indices (offset added) where the detector signalled drift, and warning. */
  drifts: number[];
  warnings: number[];
  rows: number;
}

/** Feeds a window of errors (or losses) in order; `offset` makes indices global across windows. */
export function feedDetector(
  detector: ConceptDriftDetector,
  xs: ArrayLike<number>,
  offset = 0,
): DetectorBatchResult {
  const out: DetectorBatchResult = { signal: 'none', drifts: [], warnings: [], rows: xs.length };
  for (let i = 0; i < xs.length; i++) {
    const signal = detector.update(xs[i]!);
    if (signal === 'drift') out.drifts.push(offset + i);
    else if (signal === 'warning') out.warnings.push(offset + i);
    if (SIGNAL_RANK[signal] > SIGNAL_RANK[out.signal]) out.signal = signal;
  }
  return out;
}
