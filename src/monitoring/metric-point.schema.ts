import { z } from 'zod';

/*
 * One measurement of a monitor run: the unit of monitoring's time series, of alert rules and of the
 * report. A run writes one point per metric, per feature where the metric is per feature, and per
 * slice where the monitor slices its traffic (the protected attribute's groups, say).
 */

/** What a measurement says: within bounds, beyond its threshold, or not enough rows to say anything. */
export const MetricStatusSchema = z.enum(['ok', 'warning', 'alert', 'insufficient_data']);
export type MetricStatus = z.infer<typeof MetricStatusSchema>;

export const MetricPointSchema = z.object({
  monitorId: z.string(),
  /** The monitor run that measured it. */
  runId: z.string(),
  deploymentId: z.string(),
  /** The model version whose traffic was measured (a challenger's points carry the challenger's id). */
  modelVersionId: z.string(),
  /**
   * Dotted metric name: `drift.<test>` (per feature), `skew.<test>` (per feature), `drift.share`,
   * `quality.null_share` / `quality.out_of_range_share` / `quality.unseen_share` (per feature),
   * `performance.<metric>` (accuracy, f1, roc_auc, rmse, ...), `performance.label_coverage`,
   * `estimate.<metric>` (CBPE), `concept.<detector>`, `fairness.<metric>` (per slice), `traffic.rows`.
   */
  metric: z.string().min(1),
  /** The input feature or output the point is about; null for whole-window metrics. */
  feature: z.string().nullable(),
  /** The slice (e.g. `sex=female`); null for all traffic. */
  slice: z.string().nullable(),
  /** Window bounds in epoch ms, [start, end). */
  windowStart: z.number().int(),
  windowEnd: z.number().int(),
  /** Null when the status is insufficient_data (no number is better than a wrong one). */
  value: z.number().nullable(),
  status: MetricStatusSchema,
  /** Test-specific facts: p-value, threshold, rows on each side, confidence band, group sizes. */
  details: z.record(z.string(), z.unknown()).default({}),
});
export type MetricPoint = z.infer<typeof MetricPointSchema>;
