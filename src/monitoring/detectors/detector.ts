/*
 * The common shape of the concept drift detectors that watch a model's error stream (0 = right,
 * 1 = wrong, or a loss). A monitor run feeds the rows of its window and stores `state()` with the
 * monitor, so the next tick resumes where this one stopped instead of relearning from nothing.
 */

/** What one update says: nothing, a warning (DDM only), or a drift (the detector then resets). */
export type DetectorSignal = 'none' | 'warning' | 'drift';

/** The detectors on offer. */
export const DETECTOR_KINDS = ['ddm', 'adwin', 'page_hinkley'] as const;
export type DetectorKind = (typeof DETECTOR_KINDS)[number];

/** A detector on a stream of errors or losses; `state()` is JSON and restores through restoreDetector. */
export interface ConceptDriftDetector<S extends { kind: DetectorKind } = { kind: DetectorKind }> {
  readonly kind: DetectorKind;
  /** Feeds one row; throws ValidationError on a non-finite value (DDM: anything but 0 or 1). */
  update(x: number): DetectorSignal;
  /** Everything needed to resume: options and running statistics, JSON-serialisable. */
  state(): S;
  /** Rows since the last reset (ADWIN: the window's length). */
  rows(): number;
  /** Whether enough rows have been seen for the detector to fire at all. */
  ready(): boolean;
  /** The headline statistic: the current error-rate estimate (DDM, ADWIN) or m_T - M_T (Page-Hinkley). */
  value(): number | null;
}

/** How severe a signal is, so a batch reports its worst. */
export const SIGNAL_RANK: Record<DetectorSignal, number> = { none: 0, warning: 1, drift: 2 };
