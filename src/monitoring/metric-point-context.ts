import type { MetricPoint } from './metric-point.schema.js';

/** What every point of one monitor run shares; the `toMetricPoints` helpers add metric, slice, value, status. */
export type MetricPointContext = Pick<
  MetricPoint,
  'monitorId' | 'runId' | 'deploymentId' | 'modelVersionId' | 'windowStart' | 'windowEnd'
>;
