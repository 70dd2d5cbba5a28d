import { z } from 'zod';
import { MetricStatusSchema } from '../metric-point.schema.js';

/*
 * An alert rule as a monitor's YAML states it (the `alerts:` list). Strict: an unknown key or a value
 * out of range is a ValidationError naming the field (parseOrThrow), never a silently ignored rule.
 */

/** How a point's value is compared with the rule's threshold. */
export const ComparatorSchema = z.enum(['>', '>=', '<', '<=', '==', '!=']);
export type Comparator = z.infer<typeof ComparatorSchema>;

export const AlertSeveritySchema = z.enum(['info', 'warning', 'critical']);
export type AlertSeverity = z.infer<typeof AlertSeveritySchema>;

/** What firing does besides recording and notifying: nothing more, roll the alias back, or ask for a retrain. */
export const AlertActionSchema = z.enum(['notify', 'rollback', 'retrain']);
export type AlertAction = z.infer<typeof AlertActionSchema>;

/** Where a firing is told: the signed webhooks of the outbox, the same with a Slack-style body, the log. */
export const NotifyChannelSchema = z.enum(['webhook', 'slack', 'log']);
export type NotifyChannel = z.infer<typeof NotifyChannelSchema>;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** '0s', '90s', '30m', '12h', '7d' -> milliseconds. */
const cooldownSchema = z
  .string()
  .regex(/^\d+(s|m|h|d)$/, "must be a duration like '0s', '30m', '12h' or '7d'")
  .transform((s) => Number(s.slice(0, -1)) * UNIT_MS[s.slice(-1) as keyof typeof UNIT_MS]);

/**
 * Either a threshold (`{op: '>', threshold: 0.2}`) or a status the monitor gave the point
 * (`{status: alert}`). One form, never both: a rule that says two things means neither.
 */
export const AlertConditionSchema = z
  .strictObject({
    op: ComparatorSchema.optional(),
    threshold: z.number().refine(Number.isFinite, 'must be a finite number').optional(),
    status: MetricStatusSchema.exclude(['ok', 'insufficient_data'])
      .describe("'alert' or 'warning'")
      .optional(),
  })
  .superRefine((c, ctx) => {
    const threshold = c.op !== undefined || c.threshold !== undefined;
    if (threshold && c.status !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['status'], message: 'give op + threshold, or status, not both' });
    } else if (c.status === undefined) {
      if (c.op === undefined) ctx.addIssue({ code: 'custom', path: ['op'], message: 'is required' });
      if (c.threshold === undefined)
        ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'is required' });
    }
  });
export type AlertCondition = z.infer<typeof AlertConditionSchema>;

/** A metric name as MetricPoints carry it: dotted lower-case words (`drift.share`, `performance.accuracy`). */
const metricNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, "must be a dotted metric name such as 'drift.share'");

export const AlertRuleSchema = z.strictObject({
  /** Unique within its monitor; the alert's name in lists and notifications. */
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/,
      'must be 1-100 letters, digits, _ . - (starting alphanumeric)',
    ),
  metric: metricNameSchema,
  /** Only this feature's points (omitted: every feature, each its own alert). */
  feature: z.string().min(1).max(200).optional(),
  /** Only this slice's points (omitted: every slice, each its own alert). */
  slice: z.string().min(1).max(200).optional(),
  condition: AlertConditionSchema,
  /** Consecutive windows the condition must hold before the alert fires. */
  for: z.number().int().min(1).max(100).default(1),
  /** After an alert resolves, the same rule on the same series stays quiet this long. */
  cooldown: cooldownSchema.default(0),
  severity: AlertSeveritySchema.default('warning'),
  action: AlertActionSchema.default('notify'),
  notify: z.array(NotifyChannelSchema).max(3).default(['webhook', 'log']),
  description: z.string().max(500).optional(),
});
/** A rule after parsing: defaults filled, cooldown in milliseconds. */
export type AlertRule = z.output<typeof AlertRuleSchema>;
/** A rule as written (YAML, API). */
export type AlertRuleInput = z.input<typeof AlertRuleSchema>;

/** A monitor's rules: names unique, so an alert names exactly one rule. */
export const AlertRulesSchema = z.array(AlertRuleSchema).superRefine((rules, ctx) => {
  const seen = new Set<string>();
  rules.forEach((r, i) => {
    if (seen.has(r.name))
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `'${r.name}' is used twice` });
    seen.add(r.name);
  });
});
