/**
 * The statistics of monitoring, pure (no database, no services): per-feature drift of a serving
 * window against a reference (stored profile or raw values), a whole window under a policy (BH,
 * minimum rows, drift share), live data quality, and the mapping to MetricPoints.
 */

/** Benjamini-Hochberg adjusted p-values (step-up, capped at 1). */
export { benjaminiHochberg } from './benjamini-hochberg.js';
/** Raw values as served, and the kinds of feature. */
export type { FeatureKind, RawColumn, RawValue } from './column-sample.js';
/** The drift policy a monitor embeds (strict zod schema) and its parser (ValidationError naming the field). */
export {
  type DriftPolicy,
  type DriftPolicyInput,
  DriftPolicySchema,
  parseDriftPolicy,
  thresholdProblem,
} from './drift-policy.schema.js';
/** Drift results as zod schemas (route replies, stored results) with their types; the PSI band of a value. */
export {
  type DriftReason,
  DriftReasonSchema,
  type DriftStatus,
  DriftStatusSchema,
  type FeatureDrift,
  FeatureDriftSchema,
  type PsiBand,
  PsiBandSchema,
  psiBand,
  type WindowDrift,
  WindowDriftSchema,
} from './drift-result.js';
/** Drift of one feature's window against a profile, raw values or a prepared reference. */
export { DEFAULT_MIN_ROWS, type FeatureDriftOptions, featureDrift } from './feature-drift.js';
/** Nulls, NaN/Infinity, out-of-range, unseen categories and type changes of a window. */
export {
  type LiveQuality,
  LiveQualitySchema,
  liveQuality,
  type ValueType,
  ValueTypeSchema,
} from './live-quality.js';
/** MetricPoints (drift/skew per feature, share, quality) of a measured window. */
export { type MeasuredWindow, type PointContext, toMetricPoints } from './metric-points.js';
/** A reference prepared once for many windows (raw values sorted once, a profile indexed). */
export { type PreparedReference, prepareReference, type ReferenceInput } from './reference.js';
/** Drift of every feature of a window under a policy: BH, minimum rows, drift share. */
export { type Columns, type CurrentColumn, windowDrift } from './window-drift.js';
