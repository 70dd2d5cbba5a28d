import { z } from 'zod';

/** Pre-training fairness of a dataset version: which columns, which label is the positive one. */
export const datasetFairnessQuerySchema = z.strictObject({
  /** `<dataset>@<n>` (`<dataset>@<n>:<table>` when the version holds several tables). */
  dataset: z.string().min(3).max(400),
  /** The protected attribute's column. */
  attribute: z.string().min(1).max(200),
  /** The label's column. */
  label: z.string().min(1).max(200),
  /** The positive label (default: 1 / true / the larger of two values). */
  positive: z.string().min(1).max(200).optional(),
  /** Groups (or their complements) smaller than this get insufficient_data (default 30). */
  minGroupSize: z.coerce.number().int().min(1).max(1_000_000).optional(),
});
export type DatasetFairnessQuery = z.infer<typeof datasetFairnessQuerySchema>;

const valueSchema = z.object({
  value: z.number().nullable(),
  status: z.enum(['ok', 'insufficient_data', 'undefined']),
  reason: z.string().optional(),
});

/** Clarify's pre-training metrics (CI, DPL) per facet value vs the rest, with the group sizes. */
export const datasetFairnessSchema = z.object({
  dataset: z.string(),
  table: z.string(),
  attribute: z.string(),
  label: z.string(),
  /** Rows with a facet value, and rows left out because it was missing. */
  rows: z.number(),
  excludedRows: z.number(),
  minGroupSize: z.number(),
  groups: z.array(
    z.object({
      value: z.string(),
      slice: z.string(),
      /** n_d (this group) and n_a (the rest), and the positives of each. */
      size: z.number(),
      restSize: z.number(),
      positives: z.number(),
      restPositives: z.number(),
      metrics: z.object({ CI: valueSchema, DPL: valueSchema }),
    }),
  ),
});
export type DatasetFairness = z.infer<typeof datasetFairnessSchema>;
