import type { MetricPoint } from '../metric-point.schema.js';
import type { MetricPointContext } from '../metric-point-context.js';
import {
  CBPE_DEFAULTS,
  CBPE_METRICS,
  type CbpeComparison,
  type CbpeEstimate,
  type CbpeMetric,
  type CbpeModel,
} from './cbpe.js';

/** Metric point names, snake_case as `performance.<metric>` spells them, so the report pairs them. */
export const CBPE_POINT_NAMES: Record<CbpeMetric, string> = {
  accuracy: 'estimate.accuracy',
  precision: 'estimate.precision',
  recall: 'estimate.recall',
  f1: 'estimate.f1',
  rocAuc: 'estimate.roc_auc',
};

/**
 * One `estimate.<metric>` point per metric. Status `alert` when the estimate leaves the reference's
 * expected range (reference chunk mean +- 3 std, scaled to the window's rows: NannyML's alert rule),
 * `insufficient_data` when there is no value. The band, the assumption and the realised value (when
 * labels have arrived) go in details.
 */
export function cbpeToMetricPoints(
  ctx: MetricPointContext,
  model: CbpeModel,
  estimate: CbpeEstimate,
  opts: { slice?: string | null; comparison?: Record<CbpeMetric, CbpeComparison> } = {},
): MetricPoint[] {
  return CBPE_METRICS.map((m) => {
    const e = estimate[m];
    const ref = model.reference.metrics[m];
    const lowerLimit =
      ref.mean !== null && e.std !== null ? ref.mean - CBPE_DEFAULTS.bandWidth * e.std : null;
    const upperLimit =
      ref.mean !== null && e.std !== null ? ref.mean + CBPE_DEFAULTS.bandWidth * e.std : null;
    const outside =
      e.value !== null &&
      lowerLimit !== null &&
      upperLimit !== null &&
      (e.value < lowerLimit || e.value > upperLimit);
    const realised = opts.comparison?.[m];
    return {
      ...ctx,
      metric: CBPE_POINT_NAMES[m],
      feature: null,
      slice: opts.slice ?? null,
      value: e.value,
      status: e.value === null ? 'insufficient_data' : outside ? 'alert' : 'ok',
      details: {
        rows: estimate.rows,
        lower: e.lower,
        upper: e.upper,
        std: e.std,
        referenceMean: ref.mean,
        lowerLimit,
        upperLimit,
        calibration: estimate.calibration,
        assumption: estimate.assumption,
        ...(e.reason ? { reason: e.reason } : {}),
        ...(realised ? { realised: realised.realised, withinBand: realised.withinBand } : {}),
      },
    };
  });
}
