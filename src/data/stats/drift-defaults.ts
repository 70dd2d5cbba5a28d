import type { DriftTest } from './comparison.schema.js';

/** Default thresholds: p-value below for ks / chi_squared / z_test, distance at or above for the rest. */
export const DEFAULT_THRESHOLDS: Record<DriftTest, number> = {
  ks: 0.05,
  chi_squared: 0.05,
  z_test: 0.05,
  wasserstein: 0.1,
  jensen_shannon: 0.1,
  psi: 0.1,
};

/** Share of drifted columns at which a whole dataset counts as drifted. */
export const DEFAULT_DRIFT_SHARE = 0.5;

/** Floor of the reference standard deviation that normalises Wasserstein (Evidently's). */
export const MIN_STD = 0.001;

export type ColumnKind = 'numeric' | 'categorical';

export interface TestChoiceInput {
  kind: ColumnKind;
  referenceRows: number;
  referenceUniques: number;
}

/**
 * Evidently's default choice: small references (<= 1000 rows) get hypothesis tests (KS for numeric
 * columns with > 5 values, Z-test for <= 2 categories, chi-squared otherwise); larger ones get
 * distances (Wasserstein / std for numeric with > 5 values, Jensen-Shannon otherwise), because with
 * many rows every tiny shift is "significant".
 */
export function defaultTest({ kind, referenceRows, referenceUniques }: TestChoiceInput): DriftTest {
  const continuous = kind === 'numeric' && referenceUniques > 5;
  if (referenceRows <= 1000) {
    if (continuous) return 'ks';
    return referenceUniques <= 2 ? 'z_test' : 'chi_squared';
  }
  return continuous ? 'wasserstein' : 'jensen_shannon';
}

/** True when a test's outcome crosses its threshold. */
export function isPValueTest(test: DriftTest): boolean {
  return test === 'ks' || test === 'chi_squared' || test === 'z_test';
}
