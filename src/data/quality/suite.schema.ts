import { z } from 'zod';
import { ColumnTypeSchema, ScalarSchema } from '../tables/table.schema.js';

/*
 * A quality suite, as people write it in YAML:
 *   name: credit-train
 *   table: train.csv            # which table of the version (optional when it has one)
 *   expectations:
 *     - not_null: { column: age }
 *     - between: { column: age, min: 18, max: 120 }
 * Each expectation is a one-key map: the key names the kind, the value holds its parameters.
 */

const column = z.string().min(1);
const bound = z.number().finite();
const described = { description: z.string().optional() };

type Bounds = { min?: number | undefined; max?: number | undefined };
const hasBound = (v: Bounds) => v.min !== undefined || v.max !== undefined;
const ordered = (v: Bounds) => v.min === undefined || v.max === undefined || v.min <= v.max;

const bounds = { min: bound.optional(), max: bound.optional(), ...described };
// zod's refine on a generic shape does not type-check, so each ranged kind spells its shape out.
const ranged = <S extends z.ZodType<Bounds>>(schema: S) =>
  schema
    .refine(hasBound, { message: 'needs min, max or both' })
    .refine(ordered, { message: 'min is above max' });

/** Durations like 90s, 30m, 36h, 7d. */
export const durationSchema = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(s|m|h|d|w)$/, "must be a duration such as '90s', '30m', '36h', '7d' or '2w'");

/** The parameters of each expectation kind, by the YAML key that names it. */
export const expectationParams = {
  column_exists: z.strictObject({ column, ...described }),
  column_type: z.strictObject({ column, type: ColumnTypeSchema, ...described }),
  not_null: z.strictObject({ column, ...described }),
  null_fraction: z.strictObject({ column, max: z.number().min(0).max(1), ...described }),
  unique: z
    .strictObject({ column: column.optional(), columns: z.array(column).min(1).optional(), ...described })
    .refine((v) => (v.column === undefined) !== (v.columns === undefined), {
      message: "needs 'column' or 'columns' (a compound key), not both",
    }),
  between: ranged(z.strictObject({ column, ...bounds })),
  in_set: z.strictObject({ column, values: z.array(ScalarSchema).min(1), ...described }),
  regex: z.strictObject({ column, pattern: z.string().min(1), ...described }),
  row_count: ranged(z.strictObject(bounds)),
  mean_between: ranged(z.strictObject({ column, ...bounds })),
  quantile_between: ranged(z.strictObject({ column, quantile: z.number().min(0).max(1), ...bounds })),
  freshness: z.strictObject({ column, max_age: durationSchema, ...described }),
  sql: z.strictObject({ predicate: z.string().min(1), name: z.string().optional(), ...described }),
} as const;

export type ExpectationKind = keyof typeof expectationParams;
export const EXPECTATION_KINDS = Object.keys(expectationParams) as ExpectationKind[];

export type Expectation = {
  [K in ExpectationKind]: { kind: K } & z.infer<(typeof expectationParams)[K]>;
}[ExpectationKind];

export interface Suite {
  name: string;
  table?: string;
  description?: string;
  expectations: Expectation[];
}

export const suiteHeaderSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\w.-]+$/, 'may hold only letters, digits, _ . -'),
  table: z.string().min(1).optional(),
  description: z.string().optional(),
  expectations: z.array(z.unknown()).min(1),
});

export const expectationResultSchema = z.object({
  index: z.number(),
  kind: z.string(),
  /** The columns it checks (empty for row_count and sql). */
  columns: z.array(z.string()),
  /** What was expected, for people, e.g. "between 18 and 120". */
  expected: z.string(),
  passed: z.boolean(),
  /** What the data showed: a count, a fraction, a mean, a type, an age... */
  observed: z.unknown(),
  /** Rows that break it, where that makes sense. */
  failingRows: z.number().optional(),
  /** Up to five of those rows. */
  examples: z.array(z.record(z.string(), ScalarSchema)).optional(),
});
export type ExpectationResult = z.infer<typeof expectationResultSchema>;

export const validationResultSchema = z.object({
  id: z.string(),
  versionId: z.string(),
  dataset: z.string(),
  version: z.number(),
  table: z.string(),
  suite: z.string(),
  suiteDigest: z.string(),
  passed: z.boolean(),
  total: z.number(),
  failed: z.number(),
  results: z.array(expectationResultSchema),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type ValidationResult = z.infer<typeof validationResultSchema>;

export const latestResultSchema = z.object({ suite: z.string(), passed: z.boolean(), at: z.string() });
export type LatestResult = z.infer<typeof latestResultSchema>;
