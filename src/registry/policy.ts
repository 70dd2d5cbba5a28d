import { parse as parseYaml, YAMLError } from 'yaml';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { aliasSchema, CARD_FIELDS } from './registry.schema.js';

/*
 * Promotion policies as code. A policy is YAML, stored in Sextant per model (or as the default):
 *
 *   protectedAliases: [champion]     # aliases that move only through promotion requests
 *   approvals: 1                     # approvals a request needs
 *   approverRoles: [approver, admin] # who may approve
 *   separationOfDuties: true         # the requester and the run's author may not approve
 *   expiresAfter: 7d                 # a pending request expires (m, h or d)
 *   emergencyRollback: admin         # an admin may roll back at once; `none`: rollbacks need a request
 *   gates:
 *     - metric: auc >= 0.80
 *     - metric: auc >= champion.auc - 0.005
 *     - data_quality: passed
 *     - documentation: [dataset.source, card.intended_use]
 *     - fairness: { metric: demographic_parity_difference, max: 0.1 }
 *     - drift: { metric: psi, max: 0.2 }
 */

const COMPARATORS = ['>=', '<=', '==', '!=', '>', '<'] as const;
export type Comparator = (typeof COMPARATORS)[number];

/** `auc >= 0.8` or `auc >= champion.auc - 0.005`, parsed. */
export interface MetricRule {
  metric: string;
  op: Comparator;
  /** A number, or the current holder of an alias: its metric plus an offset. */
  rhs:
    | { kind: 'absolute'; value: number }
    | { kind: 'relative'; alias: string; metric: string; offset: number };
  text: string;
}

const METRIC_KEY = '[A-Za-z_][\\w.\\-/:]*';
const RULE = new RegExp(`^\\s*(${METRIC_KEY})\\s*(>=|<=|==|!=|>|<)\\s*(.+?)\\s*$`);
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const RELATIVE = new RegExp(
  `^([a-z][a-z0-9_-]*)\\.(${METRIC_KEY}?)\\s*(?:([-+])\\s*(\\d+(?:\\.\\d*)?(?:[eE][-+]?\\d+)?))?$`,
);

/** Parses a metric rule; the error names the rule as written. */
export function parseMetricRule(text: string): MetricRule {
  const m = RULE.exec(text);
  if (!m) throw new Error(`'${text}' is not '<metric> <op> <number | alias.metric [± number]>'`);
  const [, metric, op, rhsText] = m as unknown as [string, string, Comparator, string];
  if (NUMBER.test(rhsText)) return { metric, op, rhs: { kind: 'absolute', value: Number(rhsText) }, text };
  const r = RELATIVE.exec(rhsText);
  if (!r) throw new Error(`'${rhsText}' is neither a number nor '<alias>.<metric> [± number]'`);
  const [, alias, ref, sign, offset] = r as unknown as [string, string, string, string?, string?];
  // A dotted metric key ("champion.val.auc") keeps everything after the alias.
  const value = offset === undefined ? 0 : Number(offset) * (sign === '-' ? -1 : 1);
  return { metric, op, rhs: { kind: 'relative', alias, metric: ref, offset: value }, text };
}

/** True when `a op b` holds. */
export function compare(a: number, op: Comparator, b: number): boolean {
  switch (op) {
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '<':
      return a < b;
  }
}

const DOC_FIELDS = ['dataset.source', 'description', ...CARD_FIELDS.map((f) => `card.${f}`)] as const;

const metricGate = z.strictObject({
  metric: z.string().transform((text, ctx) => {
    try {
      return parseMetricRule(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
});
const limitGate = z.strictObject({ metric: z.string().min(1).max(250), max: z.number() });

export const gateSchema = z.union([
  metricGate,
  z.strictObject({ data_quality: z.literal('passed') }),
  z.strictObject({ documentation: z.array(z.enum(DOC_FIELDS)).min(1) }),
  z.strictObject({ fairness: limitGate }),
  z.strictObject({ drift: limitGate }),
]);
export type Gate = z.infer<typeof gateSchema>;

const durationSchema = z
  .string()
  .regex(/^\d+(m|h|d)$/, "must be a duration like '30m', '12h' or '7d'")
  .transform(
    (s) =>
      Number(s.slice(0, -1)) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[s.slice(-1) as 'm' | 'h' | 'd'],
  );

export const policySchema = z.strictObject({
  protectedAliases: z.array(aliasSchema).default(['champion']),
  approvals: z.number().int().min(0).max(20).default(1),
  approverRoles: z
    .array(z.enum(['approver', 'admin']))
    .min(1)
    .default(['approver', 'admin']),
  separationOfDuties: z.boolean().default(true),
  expiresAfter: durationSchema.default(7 * 86_400_000),
  emergencyRollback: z.enum(['admin', 'none']).default('admin'),
  gates: z.array(gateSchema).max(100).default([]),
});
export type Policy = z.output<typeof policySchema>;

/** What applies when nobody has stored a policy: one approval by an approver, no gates. */
export const BUILT_IN_POLICY_YAML = `# built-in default: one approval, separation of duties, no gates
protectedAliases: [champion]
approvals: 1
approverRoles: [approver, admin]
separationOfDuties: true
expiresAfter: 7d
emergencyRollback: admin
gates: []
`;

/** Parses and checks a policy; the ValidationError names the field (e.g. `policy.gates[1].metric`). */
export function parsePolicy(yamlText: string): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    const msg = err instanceof YAMLError ? err.message.split('\n')[0] : String(err);
    throw new ValidationError(`policy: not valid YAML: ${msg}`, { field: 'policy' });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ValidationError('policy: must be a YAML mapping (protectedAliases, approvals, gates, ...)', {
      field: 'policy',
    });
  }
  const parsed = policySchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = [
    'policy',
    ...(issue?.path ?? []).map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)),
  ]
    .join('')
    .replace(/\.\[/g, '[');
  const message = issue?.code === 'invalid_union' ? unionMessage(issue) : (issue?.message ?? 'invalid');
  throw new ValidationError(`${field}: ${message}`, { field });
}

function unionMessage(issue: z.core.$ZodIssue): string {
  // Report the most specific branch's complaint: the one whose key matched.
  const errors = (issue as { errors?: z.core.$ZodIssue[][] }).errors ?? [];
  const specific = errors.flat().find((e) => e.code !== 'unrecognized_keys' && e.code !== 'invalid_type');
  return specific
    ? `${specific.path.join('.')}: ${specific.message}`.replace(/^: /, '')
    : 'a gate is one of metric, data_quality, documentation, fairness, drift';
}
