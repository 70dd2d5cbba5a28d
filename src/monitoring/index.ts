/** The shared measurement of a monitor run. */

/** Binary label and score checks shared by estimation, detectors and fairness. */
export { checkScores, LabelTypeError, toBinaryLabels } from './binary-inputs.js';
/** Concept drift detectors (DDM, ADWIN, Page-Hinkley) on error streams. */
export * from './detectors/index.js';
/** Performance estimation without labels (CBPE). */
export * from './estimation/index.js';
/** Fairness: SageMaker Clarify's bias metrics per protected-attribute group. */
export * from './fairness/index.js';
export {
  type MetricPoint,
  MetricPointSchema,
  type MetricStatus,
  MetricStatusSchema,
} from './metric-point.schema.js';
/** What every point of one monitor run shares (ids and window), for the `toMetricPoints` helpers. */
export type { MetricPointContext } from './metric-point-context.js';
