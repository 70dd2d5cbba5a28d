/** The common detector interface, its signals and kinds. */

/** ADWIN on an exponential histogram, delta 0.002 by default. */
export { ADWIN_DEFAULTS, Adwin, type AdwinOptions, type AdwinState } from './adwin.js';
/** Build a detector by kind, or resume one from its stored state. */
export {
  createDetector,
  type DetectorOptions,
  type DetectorState,
  detectorStateSchema,
  restoreDetector,
} from './create-detector.js';
/** DDM (Gama et al.) with river's defaults. */
export { DDM_DEFAULTS, Ddm, type DdmOptions, type DdmState } from './ddm.js';
export {
  type ConceptDriftDetector,
  DETECTOR_KINDS,
  type DetectorKind,
  type DetectorSignal,
} from './detector.js';
/** A fed window as a `concept.<kind>` metric point. */
export { detectorToMetricPoint } from './detector-points.js';
/** Detection delay, false alarms per 10k rows and missed changes on a stream with known change points. */
export { type DetectorEvaluation, evaluateDetector } from './evaluate-detector.js';
/** Feed a window of rows and collect the signals. */
export { type DetectorBatchResult, feedDetector } from './feed-detector.js';
/** Page-Hinkley (delta 0.005, lambda 50, 30 rows). */
export {
  PAGE_HINKLEY_DEFAULTS,
  PageHinkley,
  type PageHinkleyOptions,
  type PageHinkleyState,
} from './page-hinkley.js';
/** Error streams with known change points (credit generator's concept-drift knob, or Bernoulli). */
export { bernoulliErrorStream, creditErrorStream, type ErrorStream } from './synthetic-error-streams.js';
