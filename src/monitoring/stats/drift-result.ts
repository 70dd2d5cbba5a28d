import type { DriftTest } from '../../data/stats/index.js';
import type { FeatureKind } from './column-sample.js';

/** PSI bands as the industry reads them: < 0.1 none, 0.1-0.25 moderate, > 0.25 significant. */
export type PsiBand = 'none' | 'moderate' | 'significant';

/** ok: tested, within threshold; alert: drifted; insufficient_data: not tested (see reason). */
export type DriftStatus = 'ok' | 'alert' | 'insufficient_data';

/**
 * Why a feature was not tested (status insufficient_data), or a fact worth knowing about a tested one
 * ('constant_reference').
 */
export type DriftReason =
  | 'too_few_rows'
  | 'too_few_reference_rows'
  | 'all_null'
  | 'no_valid_values'
  | 'absent_from_reference'
  | 'absent_from_current'
  | 'unsupported_type'
  | 'constant_reference';

/** One feature's drift in one window. */
export interface FeatureDrift {
  feature: string;
  kind: FeatureKind;
  /** The test run (or that would have run); null when the reference is missing. */
  test: DriftTest | null;
  /** The test statistic (D, chi2, z, or the distance); null when not tested. */
  statistic: number | null;
  /** p-value tests (ks, chi_squared, z_test) only. */
  pValue?: number;
  /** Benjamini-Hochberg adjusted p-value, when the policy asks for BH. */
  pAdjusted?: number;
  /** Distance tests (wasserstein normalised by the reference std, jensen_shannon, psi) only. */
  distance?: number;
  /** p-value level (drift below) or distance (drift at or above); for BH the fdr q. */
  threshold: number;
  /** Never true when status is insufficient_data. */
  drifted: boolean;
  /** PSI over the same bins, for every tested feature; null when not tested. */
  psi: number | null;
  psiBand: PsiBand | null;
  status: DriftStatus;
  /** Valid reference rows (non-null; finite for numbers). */
  referenceRows: number;
  /** Valid current rows (non-null; finite for numbers). */
  currentRows: number;
  /** True when the statistic comes from a reference sketch (stored profile) rather than raw values. */
  approximate: boolean;
  /** For sketch-based KS and Wasserstein: |statistic - exact statistic| <= errorBound. */
  errorBound?: number;
  reason?: DriftReason;
  /** One line for people, with the reason. */
  message?: string;
  /** Current values left out of the test. */
  excluded: { nulls: number; nonFinite: number; wrongType: number };
}

/** PSI band of a value. */
export function psiBand(psi: number): PsiBand {
  if (psi > 0.25) return 'significant';
  if (psi >= 0.1) return 'moderate';
  return 'none';
}
