/** CBPE: fit on labelled reference scores, estimate unlabelled windows, compare with realised values. */
export {
  CBPE_ASSUMPTION,
  CBPE_DEFAULTS,
  CBPE_METRICS,
  type CbpeComparison,
  type CbpeEstimate,
  type CbpeFitInput,
  type CbpeMetric,
  type CbpeMetricValues,
  type CbpeModel,
  type CbpeReferenceStat,
  type CbpeValue,
  compareCbpe,
  type ExpectedConfusion,
  estimateCbpe,
  fitCbpe,
  OneClassReferenceError,
  realisedCbpeMetrics,
} from './cbpe.js';
/** Validation of a stored CBPE model before it is used. */
export { cbpeModelSchema, parseCbpeModel } from './cbpe-model.schema.js';
/** CBPE estimates as `estimate.<metric>` metric points (status alert outside the reference range). */
export { CBPE_POINT_NAMES, cbpeToMetricPoints } from './cbpe-points.js';
/** Isotonic calibration (pool-adjacent-violators) and expected calibration error. */
export { applyIsotonic, expectedCalibrationError, fitIsotonic, type IsotonicMap } from './isotonic.js';
