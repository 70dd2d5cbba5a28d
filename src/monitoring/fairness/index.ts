/** Clarify's post-training (DPPL, DI, DCA, DCR, RD, SD, DAR, DRR, AD, TE) and pre-training (CI, DPL) bias metrics. */
export {
  type FairnessGroup,
  type FairnessReport,
  type FairnessValue,
  POST_TRAINING_METRICS,
  type PostTrainingInput,
  type PostTrainingMetric,
  PRE_TRAINING_METRICS,
  type PreTrainingInput,
  type PreTrainingMetric,
  postTrainingBias,
  preTrainingBias,
  type SideCounts,
} from './bias-metrics.js';
/** Facet handling: the defaults (minimum group size 30, four-fifths 0.8) and the single-group error. */
export { FAIRNESS_DEFAULTS, type FacetValue, type LabelValue, SingleGroupError } from './facet-groups.js';
/** A fairness report as `fairness.<metric>` metric points, one per facet value (slice). */
export { type FairnessPointsInput, fairnessToMetricPoints } from './fairness-points.js';
/** Clarify's flip test (FT): k-NN on the rest's rows answers what the model would have said had d been a. */
export { type FlipTestGroup, type FlipTestInput, type FlipTestReport, flipTest } from './flip-test.js';
