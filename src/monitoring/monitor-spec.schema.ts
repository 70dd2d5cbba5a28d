import { z } from 'zod';
import { AlertRulesSchema } from './alerts/index.js';
import { DriftPolicySchema } from './stats/index.js';

/*
 * The monitor spec (monitor.yaml). Strict everywhere: an unknown key is a typo that would otherwise
 * silently turn a check off. Durations are `<n>m|h|d`; a count window is `{ rows: n }`.
 */

const DURATION = /^(\d{1,6})(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30m`, `1h`, `7d` in ms. */
export const durationSchema = z
  .string()
  .regex(DURATION, 'a duration such as 30m, 1h or 7d')
  .transform((s) => {
    const m = DURATION.exec(s) as RegExpExecArray;
    return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  })
  .refine((ms) => ms > 0, 'a duration must be longer than 0');

/** A window of time (`1h`) or of the latest rows (`{ rows: 1000 }`). */
export const windowSchema = z.union([
  durationSchema.transform((ms) => ({ kind: 'time' as const, ms })),
  z
    .strictObject({ rows: z.number().int().min(1).max(10_000_000) })
    .transform((w) => ({ kind: 'count' as const, rows: w.rows })),
]);
export type MonitorWindow = z.output<typeof windowSchema>;

/** The drift policy (M1's stats library): tests by kind, thresholds, per-feature overrides, BH, minRows, driftShare. */
export { type DriftPolicy, DriftPolicySchema } from './stats/index.js';

export const referenceSpecSchema = z.strictObject({
  /**
   * training: the profiles stored with the model version's training dataset version (default);
   * dataset: an explicit `<dataset>@<v>`; traffic: the first rows (or first window) of its own traffic.
   */
  source: z.enum(['training', 'dataset', 'traffic']).default('training'),
  /** With source dataset: `<dataset>@<v>`. */
  dataset: z.string().min(3).max(300).optional(),
  /**
   * The label column of the reference rows that CBPE scores (default: the signature's target); names
   * it for a model registered from a file, which has no signature.json.
   */
  target: z.string().min(1).max(300).optional(),
  /** With source traffic: how many of the first rows (default: the first window's). */
  rows: z.number().int().min(1).max(1_000_000).optional(),
});

export const monitorSpecSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, dot, dash, underscore (max 100)'),
    /** Input features to watch (default: the model signature's inputs, else every input seen). */
    features: z.array(z.string().min(1).max(200)).min(1).max(2000).optional(),
    /** The window each run measures. */
    window: windowSchema.default({ kind: 'time', ms: 3_600_000 }),
    reference: referenceSpecSchema.default({ source: 'training' }),
    drift: DriftPolicySchema.default(DriftPolicySchema.parse({})),
    /**
     * Training-serving skew (serving vs the reference) is reported apart from drift (serving vs the
     * previous serving window of the same size). Each can be turned off.
     */
    skew: z.boolean().default(true),
    driftVsPrevious: z.boolean().default(true),
    /** Delayed labels: the task (default: classification when outputs carry probabilities) and positive class. */
    label: z
      .strictObject({
        task: z.enum(['classification', 'regression']).optional(),
        positive: z.union([z.string(), z.number(), z.boolean()]).optional(),
      })
      .optional(),
    /** Metrics from delayed labels (default: every metric of the evaluation module for the task). */
    performance: z.array(z.string().min(1)).optional(),
    /** The protected attribute: performance and fairness per group. */
    protected: z
      .strictObject({
        attribute: z.string().min(1).max(200),
        /** The group treated as advantaged in fairness metrics (default: the largest). */
        advantaged: z.string().optional(),
        minGroupSize: z.number().int().min(1).default(30),
      })
      .optional(),
    /** Confidence-based performance estimation (CBPE) before labels arrive (classifiers). */
    estimation: z.boolean().default(false),
    /** Concept drift detectors on the error stream. */
    detectors: z.array(z.enum(['ddm', 'adwin', 'page_hinkley'])).default([]),
    /**
     * Alert rules over this monitor's metrics, checked here against alerts' schema (errors name
     * `alerts.<i>.<field>`) but kept as written: the alert engine parses them again at each run.
     */
    alerts: z
      .array(z.unknown())
      .default([])
      .superRefine((rules, ctx) => {
        const parsed = AlertRulesSchema.safeParse(rules);
        const issue = parsed.success ? undefined : parsed.error.issues[0];
        if (issue) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
      }),
  })
  .superRefine((s, ctx) => {
    if (s.reference.source === 'dataset' && !s.reference.dataset)
      ctx.addIssue({
        code: 'custom',
        path: ['reference', 'dataset'],
        message: "source 'dataset' needs dataset: <dataset>@<v>",
      });
  });
export type MonitorSpec = z.output<typeof monitorSpecSchema>;
