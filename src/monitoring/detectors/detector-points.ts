import type { MetricPoint } from '../metric-point.schema.js';
import type { MetricPointContext } from '../metric-point-context.js';
import type { ConceptDriftDetector } from './detector.js';
import type { DetectorBatchResult } from './feed-detector.js';

/**
 * One `concept.<kind>` point for a window fed to a detector: status alert on drift, warning on a
 * warning, insufficient_data while the detector cannot fire yet, ok otherwise. The value is the
 * detector's headline statistic (error rate for DDM and ADWIN, m_T - M_T for Page-Hinkley).
 */
export function detectorToMetricPoint(
  ctx: MetricPointContext,
  detector: ConceptDriftDetector,
  batch: DetectorBatchResult,
  opts: { slice?: string | null } = {},
): MetricPoint {
  const status =
    batch.signal === 'drift'
      ? 'alert'
      : batch.signal === 'warning'
        ? 'warning'
        : detector.ready()
          ? 'ok'
          : 'insufficient_data';
  return {
    ...ctx,
    metric: `concept.${detector.kind}`,
    feature: null,
    slice: opts.slice ?? null,
    value: status === 'insufficient_data' ? null : detector.value(),
    status,
    details: {
      signal: batch.signal,
      rows: batch.rows,
      drifts: batch.drifts,
      warnings: batch.warnings.length,
      detectorRows: detector.rows(),
      statistic: detector.kind === 'page_hinkley' ? 'm_T - M_T' : 'error_rate',
    },
  };
}
