/**
 * Distribution statistics of Sextant: drift tests between two columns, from profiles (sketches) or
 * raw values, with Evidently-like defaults. Monitoring extends this module with its own tests.
 */

export {
  type Binned,
  categoryBins,
  numericBins,
  rawCategoryBins,
  rawNumericBins,
  sturgesBins,
} from './binning.js';
export { type ColumnTestOptions, profileColumnDrift, sampleColumnDrift } from './column-drift.js';
export { type CompareOptions, compareProfiles } from './compare-profiles.js';
export * from './comparison.schema.js';
export {
  chiSquaredTest,
  EMPTY_BIN_SHARE,
  jensenShannonDistance,
  ksFromSketches,
  ksPValue,
  ksTest,
  psi,
  shares,
  type TestOutcome,
  wasserstein,
  wassersteinFromSketches,
  zTestProportions,
} from './distribution-tests.js';
export {
  DEFAULT_DRIFT_SHARE,
  DEFAULT_THRESHOLDS,
  defaultTest,
  isPValueTest,
  MIN_STD,
} from './drift-defaults.js';
export { kolmogorovSf, smirnovSf } from './kolmogorov.js';
/** scipy-exact KS p-values: ks_2samp's (auto method) and kstwo.sf, the one-sample KS tail. */
export { ksTwoSamplePValue } from './ks-two-sample.js';
/** KS and Wasserstein of a raw window against a stored quantile sketch, with their error bounds. */
export {
  ksSketchErrorBound,
  ksSketchVsSorted,
  wassersteinSketchErrorBound,
  wassersteinSketchVsSorted,
} from './sketch-vs-sample.js';
/** Exact KS and Wasserstein on sorted typed arrays (the fast path for large windows). */
export {
  ksStatisticSorted,
  meanStd,
  sortedFinite,
  sortFloat64,
  wassersteinSorted,
} from './sorted-samples.js';
