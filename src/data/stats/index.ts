/**
 * Distribution statistics of Sextant: drift tests between two columns, from profiles (sketches) or
 * raw values, with Evidently-like defaults. Monitoring extends this module with its own tests.
 */

export { type Binned, categoryBins, numericBins, rawCategoryBins, rawNumericBins } from './binning.js';
export { type ColumnTestOptions, profileColumnDrift, sampleColumnDrift } from './column-drift.js';
export { type CompareOptions, compareProfiles } from './compare-profiles.js';
export * from './comparison.schema.js';
export {
  chiSquaredTest,
  jensenShannonDistance,
  ksFromSketches,
  ksPValue,
  ksTest,
  psi,
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
