import type { MetricPoint } from '../metric-point.schema.js';
import type { MetricPointContext } from '../metric-point-context.js';
import type { FairnessReport } from './bias-metrics.js';

/**
 * One `fairness.<metric>` point (lower case: fairness.dppl, fairness.di, fairness.ci, ...) per facet
 * value and metric, slice `<attribute>=<value>`. Status: alert for DI under the four-fifths line,
 * insufficient_data for a small group or an undefined ratio (details.reason says which), ok otherwise.
 * Group sizes and the counts behind the number go in details.
 */
export function fairnessToMetricPoints<M extends string>(
  ctx: MetricPointContext,
  report: FairnessReport<M>,
): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const g of report.groups) {
    for (const [name, v] of Object.entries(g.metrics) as [M, (typeof g.metrics)[M]][]) {
      points.push({
        ...ctx,
        metric: `fairness.${name.toLowerCase()}`,
        feature: null,
        slice: g.slice,
        value: v.value,
        status: v.value === null ? 'insufficient_data' : v.fourFifths ? 'alert' : 'ok',
        details: {
          kind: report.kind,
          size: g.size,
          restSize: g.restSize,
          minGroupSize: report.minGroupSize,
          facet: g.facet,
          rest: g.rest,
          ...(v.reason ? { reason: v.reason } : {}),
          ...(v.fourFifths !== undefined ? { fourFifths: v.fourFifths } : {}),
        },
      });
    }
  }
  return points;
}
