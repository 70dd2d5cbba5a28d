import { z } from 'zod';

/** The logical column types Sextant knows; DuckDB's physical types are folded onto these. */
export const ColumnTypeSchema = z.enum(['integer', 'float', 'string', 'boolean', 'timestamp', 'date']);
export type ColumnType = z.infer<typeof ColumnTypeSchema>;

export const TableFormatSchema = z.enum(['csv', 'parquet', 'jsonl']);
export type TableFormat = z.infer<typeof TableFormatSchema>;

export const ColumnSchemaSchema = z.object({
  name: z.string(),
  type: ColumnTypeSchema,
  nullable: z.boolean(),
});
export const TableSchemaSchema = z.object({
  columns: z.array(ColumnSchemaSchema),
  /** CSV: the cell texts this table is read with as null, when its version chose them (`--null-values`). */
  nullValues: z.array(z.string()).optional(),
});
export type TableSchema = z.infer<typeof TableSchemaSchema>;

export const ScalarSchema = z.union([z.number(), z.string(), z.boolean(), z.null()]);
export type Scalar = z.infer<typeof ScalarSchema>;

/** Equi-width bins: counts[i] counts values in [edges[i], edges[i+1]) (the last bin is closed). */
export const HistogramSchema = z.object({ edges: z.array(z.number()), counts: z.array(z.number()) });
export type Histogram = z.infer<typeof HistogramSchema>;

export const TopValueSchema = z.object({ value: z.string(), count: z.number() });
export type TopValue = z.infer<typeof TopValueSchema>;

/**
 * One column's profile. Every part is kept in a mergeable form so that a training set's profile can
 * serve as a drift reference without the raw data: moments as (count, mean, m2) for Chan's merge, the
 * distribution as a 101-point quantile sketch (p0..p100) plus an equi-width histogram, distinct values
 * as HyperLogLog registers, frequent values with their counts.
 */
export const ColumnProfileSchema = z.object({
  name: z.string(),
  type: ColumnTypeSchema,
  /** Rows, nulls included. */
  count: z.number(),
  nulls: z.number(),
  /** Approximate (HyperLogLog, 1024 registers, ~3% standard error); exact for small counts in practice. */
  distinct: z.number(),
  /** Base64 of the 1024 HyperLogLog registers, so distinct counts merge. */
  hll: z.string(),
  min: ScalarSchema.optional(),
  max: ScalarSchema.optional(),
  /** Numeric columns (integer, float) only, from here to `histogram`. */
  mean: z.number().optional(),
  /** Sample standard deviation. */
  std: z.number().optional(),
  /** Sum of squared deviations from the mean (n * population variance): the mergeable moment. */
  m2: z.number().optional(),
  /** p1, p5, p25, p50, p75, p95, p99 (approximate: DuckDB's t-digest, then linear interpolation). */
  quantiles: z.record(z.string(), z.number()).optional(),
  /** 101 approximate quantiles p0..p100: the mergeable distribution used by KS, Wasserstein, PSI. */
  sketch: z.array(z.number()).optional(),
  histogram: HistogramSchema.optional(),
  /** Most frequent values (as strings) with exact counts; complete when `topKComplete`. */
  topK: z.array(TopValueSchema).optional(),
  /** True when topK lists every distinct non-null value (so category tests are exact). */
  topKComplete: z.boolean().optional(),
});
export type ColumnProfile = z.infer<typeof ColumnProfileSchema>;

export const TableProfileSchema = z.object({
  version: z.literal(1),
  rowCount: z.number(),
  columns: z.array(ColumnProfileSchema),
  /**
   * What a person should know about how the file was read: a delimiter other than a comma, a column
   * that is text only because of a few non-numeric cells (named). Absent when there is nothing to say.
   */
  notes: z.array(z.string()).optional(),
});
export type TableProfile = z.infer<typeof TableProfileSchema>;

export interface ProfiledTable {
  rowCount: number;
  schema: TableSchema;
  profile: TableProfile;
}

/** A table read into memory (small tables only: training sets, suite examples). */
export interface Table {
  rowCount: number;
  columns: { name: string; type: ColumnType; values: Scalar[] }[];
}

/** What diffTables needs of a table; a DATA-VERSIONS VersionTable satisfies it. */
export interface TableLike {
  path?: string;
  rowCount: number;
  schema: TableSchema;
  profile: TableProfile;
}

export const ColumnStatsSchema = z.object({
  nulls: z.number(),
  distinct: z.number(),
  min: ScalarSchema.optional(),
  max: ScalarSchema.optional(),
  mean: z.number().optional(),
  std: z.number().optional(),
  p50: z.number().optional(),
});
export type ColumnStats = z.infer<typeof ColumnStatsSchema>;

export const TableDiffSchema = z.object({
  rowCount: z.object({ a: z.number(), b: z.number(), change: z.number() }),
  schema: z.object({
    added: z.array(ColumnSchemaSchema),
    removed: z.array(ColumnSchemaSchema),
    typeChanged: z.array(z.object({ name: z.string(), a: ColumnTypeSchema, b: ColumnTypeSchema })),
    nullabilityChanged: z.array(z.object({ name: z.string(), a: z.boolean(), b: z.boolean() })),
  }),
  /** Columns present on both sides, their statistics side by side. */
  columns: z.array(
    z.object({ name: z.string(), a: ColumnStatsSchema, b: ColumnStatsSchema, changed: z.boolean() }),
  ),
});
export type TableDiff = z.infer<typeof TableDiffSchema>;
