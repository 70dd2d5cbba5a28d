import { z } from 'zod';
import { ColumnTypeSchema, TableDiffSchema } from '../tables/table.schema.js';

export const DriftTestSchema = z.enum([
  'ks',
  'chi_squared',
  'z_test',
  'wasserstein',
  'jensen_shannon',
  'psi',
]);
export type DriftTest = z.infer<typeof DriftTestSchema>;

export const ColumnDriftSchema = z.object({
  name: z.string(),
  type: ColumnTypeSchema,
  /** Absent when the column was not tested (see `skipped`). */
  test: DriftTestSchema.optional(),
  statistic: z.number().optional(),
  /** For ks, chi_squared and z_test; drift when pValue < threshold. */
  pValue: z.number().optional(),
  /** For distances (wasserstein normalised by the reference std, jensen_shannon, psi); drift when >= threshold. */
  distance: z.number().optional(),
  threshold: z.number().optional(),
  drifted: z.boolean(),
  /** Population Stability Index over the same bins, reported for every tested column. */
  psi: z.number().optional(),
  /** True when the statistic comes from sketches rather than raw values (KS to ~±0.01). */
  approximate: z.boolean(),
  skipped: z.string().optional(),
});
export type ColumnDrift = z.infer<typeof ColumnDriftSchema>;

export const ComparisonReportSchema = z.object({
  referenceRows: z.number(),
  currentRows: z.number(),
  schema: TableDiffSchema.shape.schema,
  columns: z.array(ColumnDriftSchema),
  driftedColumns: z.number(),
  testedColumns: z.number(),
  driftShare: z.number(),
  /** Dataset drift when driftShare >= shareThreshold (0.5 by default). */
  shareThreshold: z.number(),
  drift: z.boolean(),
});
export type ComparisonReport = z.infer<typeof ComparisonReportSchema>;
