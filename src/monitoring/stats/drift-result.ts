import { z } from 'zod';
import { DriftTestSchema } from '../../data/stats/index.js';

/*
 * What the statistics engine answers, as zod schemas so that routes can declare them as replies and
 * stored results can be parsed back; the TypeScript types are inferred from them.
 */

/** PSI bands as the industry reads them: < 0.1 none, 0.1-0.25 moderate, > 0.25 significant. */
export const PsiBandSchema = z.enum(['none', 'moderate', 'significant']);
export type PsiBand = z.infer<typeof PsiBandSchema>;

/** ok: tested, within threshold; alert: drifted; insufficient_data: not tested (see reason). */
export const DriftStatusSchema = z.enum(['ok', 'alert', 'insufficient_data']);
export type DriftStatus = z.infer<typeof DriftStatusSchema>;

/**
 * Why a feature was not tested (status insufficient_data), or a fact worth knowing about a tested one
 * ('constant_reference').
 */
export const DriftReasonSchema = z.enum([
  'too_few_rows',
  'too_few_reference_rows',
  'all_null',
  'no_valid_values',
  'absent_from_reference',
  'absent_from_current',
  'unsupported_type',
  'constant_reference',
]);
export type DriftReason = z.infer<typeof DriftReasonSchema>;

/** One feature's drift in one window. */
export const FeatureDriftSchema = z.object({
  feature: z.string(),
  kind: z.enum(['numeric', 'categorical']),
  /** The test run (or that would have run); null when the reference is missing. */
  test: DriftTestSchema.nullable(),
  /** The test statistic (D, chi2, z, or the distance); null when not tested. */
  statistic: z.number().nullable(),
  /** p-value tests (ks, chi_squared, z_test) only. */
  pValue: z.number().optional(),
  /** Benjamini-Hochberg adjusted p-value, when the policy asks for BH. */
  pAdjusted: z.number().optional(),
  /** Distance tests (wasserstein normalised by the reference std, jensen_shannon, psi) only. */
  distance: z.number().optional(),
  /** p-value level (drift below) or distance (drift at or above); for BH the fdr q. */
  threshold: z.number(),
  /** Never true when status is insufficient_data. */
  drifted: z.boolean(),
  /** PSI over the same bins, for every tested feature; null when not tested. */
  psi: z.number().nullable(),
  psiBand: PsiBandSchema.nullable(),
  status: DriftStatusSchema,
  /** Valid reference rows (non-null; finite for numbers). */
  referenceRows: z.number(),
  /** Valid current rows (non-null; finite for numbers). */
  currentRows: z.number(),
  /** True when the statistic comes from a reference sketch (stored profile) rather than raw values. */
  approximate: z.boolean(),
  /** For sketch-based KS and Wasserstein: |statistic - exact statistic| <= errorBound. */
  errorBound: z.number().optional(),
  reason: DriftReasonSchema.optional(),
  /** One line for people, with the reason. */
  message: z.string().optional(),
  /**
   * The bins the test (and PSI) counted, compacted to at most 20: numeric features carry the shared
   * edges. Absent when not tested, and when the test ran on sorted values without bins.
   */
  histogram: z
    .object({
      bins: z.array(z.string()),
      reference: z.array(z.number()),
      current: z.array(z.number()),
      edges: z.array(z.number()).optional(),
    })
    .optional(),
  /** Current values left out of the test. */
  excluded: z.object({ nulls: z.number(), nonFinite: z.number(), wrongType: z.number() }),
});
export type FeatureDrift = z.infer<typeof FeatureDriftSchema>;

/** Drift of a whole window: every feature, the share drifted and the window's verdict. */
export const WindowDriftSchema = z.object({
  features: z.array(FeatureDriftSchema),
  /** Features with a test result (status ok or alert). */
  tested: z.number(),
  drifted: z.number(),
  /** drifted / tested; null when nothing could be tested. */
  driftShare: z.number().nullable(),
  shareThreshold: z.number(),
  /** True when driftShare >= shareThreshold. */
  drift: z.boolean(),
  status: DriftStatusSchema,
  /** The BH false discovery rate applied to the p-value tests, or null when BH is off. */
  fdr: z.number().nullable(),
});
export type WindowDrift = z.infer<typeof WindowDriftSchema>;

/** PSI band of a value. */
export function psiBand(psi: number): PsiBand {
  if (psi > 0.25) return 'significant';
  if (psi >= 0.1) return 'moderate';
  return 'none';
}
