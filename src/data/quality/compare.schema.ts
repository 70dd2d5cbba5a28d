import { z } from 'zod';
import { ComparisonReportSchema, DriftTestSchema } from '../stats/comparison.schema.js';
import { TableProfileSchema } from '../tables/table.schema.js';

/** One side of `data compare`: a stored version (by ref) or a profile computed by the caller. */
export const compareSideSchema = z.union([
  z.strictObject({ ref: z.string().min(1).max(300) }),
  z.strictObject({ profile: TableProfileSchema, label: z.string().max(300).optional() }),
]);

export const compareBodySchema = z.strictObject({
  reference: compareSideSchema,
  current: compareSideSchema,
  /** Which table of multi-table versions (the same path on both sides). */
  table: z.string().min(1).optional(),
  /** Per-column test overrides. */
  tests: z.record(z.string(), DriftTestSchema).optional(),
  /** Per-test threshold overrides. */
  thresholds: z.partialRecord(DriftTestSchema, z.number()).optional(),
  /** Share of drifted columns that makes the dataset drifted (default 0.5). */
  driftShare: z.number().min(0).max(1).optional(),
});
export type CompareBody = z.infer<typeof compareBodySchema>;

export const comparisonResultSchema = ComparisonReportSchema.extend({
  reference: z.string(),
  current: z.string(),
});
export type ComparisonResult = z.infer<typeof comparisonResultSchema>;
