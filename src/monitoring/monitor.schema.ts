import { z } from 'zod';
import { MetricPointSchema, MetricStatusSchema } from './metric-point.schema.js';

/* The API contracts of monitors, their references, runs and series (times ISO-8601). */

export const monitorIdSchema = z.string().regex(/^mon_[0-9a-z]{26}$/, 'a monitor id (mon_...)');

export const monitorSchema = z.object({
  id: z.string(),
  deploymentId: z.string(),
  deployment: z.string(),
  name: z.string(),
  /** The YAML as written, and the parsed spec with defaults filled in. */
  specYaml: z.string(),
  spec: z.record(z.string(), z.unknown()),
  specDigest: z.string(),
  version: z.number().int(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deletedAt: z.string().nullable(),
});
export type Monitor = z.infer<typeof monitorSchema>;

export const monitorReferenceSchema = z.object({
  id: z.string(),
  monitorVersion: z.number().int(),
  modelVersionId: z.string(),
  source: z.enum(['training', 'dataset', 'traffic']),
  sourceRef: z.string(),
  rowCount: z.number().int(),
  columns: z.array(z.string()),
  createdAt: z.string(),
});
export type MonitorReference = z.infer<typeof monitorReferenceSchema>;

export const monitorRunStatusSchema = z.enum(['running', 'completed', 'failed']);

export const monitorRunSchema = z.object({
  id: z.string(),
  monitorId: z.string(),
  deploymentId: z.string(),
  monitorVersion: z.number().int(),
  windowStart: z.string(),
  windowEnd: z.string(),
  status: monitorRunStatusSchema,
  trigger: z.enum(['schedule', 'manual']),
  rows: z.number().int(),
  points: z.number().int(),
  error: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  createdBy: z.string(),
});
export type MonitorRun = z.infer<typeof monitorRunSchema>;

export const createMonitorBodySchema = z.strictObject({
  deployment: z.string().trim().min(1).max(100),
  /** monitor.yaml as text. */
  spec: z.string().min(1).max(1_000_000),
  /** `<dataset>@<v>`: overrides the spec's reference with this dataset version's stored profiles. */
  reference: z.string().trim().min(3).max(300).optional(),
});
export type CreateMonitorInput = z.infer<typeof createMonitorBodySchema>;

export const runMonitorBodySchema = z.strictObject({
  /** Window bounds (ISO); default: the latest whole window of the spec before now. */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export type RunMonitorInput = z.infer<typeof runMonitorBodySchema>;

export const monitorRunResultSchema = z.object({
  run: monitorRunSchema,
  points: z.array(MetricPointSchema),
});
export type MonitorRunResult = z.infer<typeof monitorRunResultSchema>;

export const seriesQuerySchema = z.strictObject({
  monitorId: z.string().optional(),
  deploymentId: z.string().optional(),
  modelVersionId: z.string().optional(),
  metric: z.string().optional(),
  /** A metric name prefix, e.g. `drift.` */
  metricPrefix: z.string().optional(),
  feature: z.string().optional(),
  slice: z.string().optional(),
  status: MetricStatusSchema.optional(),
  /** Points whose window ends after `since` and starts before `until` (ISO). */
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
});
export type SeriesQueryInput = z.input<typeof seriesQuerySchema>;
