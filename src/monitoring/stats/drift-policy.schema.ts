import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { type DriftTest, DriftTestSchema, isPValueTest } from '../../data/stats/index.js';

/*
 * How a monitor judges drift: the monitor YAML embeds this object as it is, so it is strict (unknown
 * keys are errors) and every threshold is range-checked for the test it belongs to, with a message
 * naming the field.
 */

const CATEGORICAL_TESTS = new Set<DriftTest>(['chi_squared', 'z_test', 'jensen_shannon', 'psi']);

/** Why a threshold is out of range for its test, or undefined when it is fine. */
export function thresholdProblem(test: DriftTest, t: number): string | undefined {
  if (!Number.isFinite(t)) return 'must be a finite number';
  if (isPValueTest(test))
    return t > 0 && t < 1 ? undefined : `is a p-value level for '${test}': between 0 and 1 (exclusive)`;
  if (test === 'jensen_shannon')
    return t > 0 && t <= 1 ? undefined : 'is a Jensen-Shannon distance: above 0, at most 1';
  return t > 0 ? undefined : `is a distance for '${test}': above 0`;
}

const FeatureOverrideSchema = z
  .object({
    /** The test for this feature instead of the size-aware default. */
    test: DriftTestSchema,
    /** The test's threshold (p-value level below which, or distance at or above which, it drifts). */
    threshold: z.number().optional(),
  })
  .strict();

const ThresholdsSchema = z
  .object(
    Object.fromEntries(DriftTestSchema.options.map((t) => [t, z.number().optional()])) as Record<
      DriftTest,
      z.ZodOptional<z.ZodNumber>
    >,
  )
  .strict();

export const DriftPolicySchema = z
  .object({
    /** Tests for all features by kind; absent: the size-aware choice (Evidently's). */
    tests: z
      .object({ numeric: DriftTestSchema.optional(), categorical: DriftTestSchema.optional() })
      .strict()
      .default({}),
    /** Thresholds per test, replacing DEFAULT_THRESHOLDS for that test. */
    thresholds: ThresholdsSchema.default({}),
    /** Per-feature test (and threshold) overrides, by feature name. */
    features: z.record(z.string(), FeatureOverrideSchema).default({}),
    /** Benjamini-Hochberg across the p-value tests of a window at false discovery rate `fdr`; false: off. */
    bh: z
      .union([
        z.literal(false),
        z
          .object({ fdr: z.number().gt(0, 'bh.fdr must be above 0').lt(1, 'bh.fdr must be below 1') })
          .strict(),
      ])
      .default(false),
    /** Fewer valid current (or reference) rows than this: insufficient_data, never drifted. */
    minRows: z.number().int().min(1).default(30),
    /** Share of tested features drifted at which the whole window counts as drifted. */
    driftShare: z.number().gt(0).max(1).default(0.5),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.tests.categorical && !CATEGORICAL_TESTS.has(p.tests.categorical)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tests', 'categorical'],
        message: `tests.categorical: '${p.tests.categorical}' needs numbers; use chi_squared, z_test, jensen_shannon or psi`,
      });
    }
    for (const [test, t] of Object.entries(p.thresholds) as [DriftTest, number | undefined][]) {
      const problem = t === undefined ? undefined : thresholdProblem(test, t);
      if (problem)
        ctx.addIssue({
          code: 'custom',
          path: ['thresholds', test],
          message: `thresholds.${test} ${problem}`,
        });
    }
    for (const [name, o] of Object.entries(p.features)) {
      const problem = o.threshold === undefined ? undefined : thresholdProblem(o.test, o.threshold);
      if (problem) {
        ctx.addIssue({
          code: 'custom',
          path: ['features', name, 'threshold'],
          message: `features.${name}.threshold ${problem}`,
        });
      }
    }
  });

/** A parsed drift policy (defaults filled). */
export type DriftPolicy = z.output<typeof DriftPolicySchema>;
/** A drift policy as written (every field optional). */
export type DriftPolicyInput = z.input<typeof DriftPolicySchema>;

/** Parses a policy; bad input is a ValidationError naming the first offending field. */
export function parseDriftPolicy(input: unknown): DriftPolicy {
  const r = DriftPolicySchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  const message = issue?.message ?? 'invalid drift policy';
  throw new ValidationError(
    message.startsWith(field) && field ? message : `${field || 'policy'}: ${message}`,
    {
      field,
      issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    },
  );
}

/** True for tests that can judge a categorical feature. */
export function testsCategories(test: DriftTest): boolean {
  return CATEGORICAL_TESTS.has(test);
}
