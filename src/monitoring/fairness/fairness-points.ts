import type { MetricPoint } from '../metric-point.schema.js';
import type { MetricPointContext } from '../metric-point-context.js';
import type { FairnessValue } from './bias-metrics.js';

/** What the points need of a report: postTrainingBias, preTrainingBias and flipTest all fit. */
export interface FairnessPointsInput {
  kind: 'post_training' | 'pre_training';
  minGroupSize: number;
  groups: {
    slice: string;
    size: number;
    restSize: number;
    metrics: Record<string, FairnessValue>;
    facet?: unknown;
    rest?: unknown;
  }[];
}

/**
 * One `fairness.<metric>` point (lower case: fairness.dppl, fairness.di, fairness.ci, ...) per facet
 * value and metric, slice `<attribute>=<value>`. Status: alert for DI under the four-fifths line,
 * insufficient_data for a small group or an undefined ratio (details.reason says which), ok otherwise.
 * Group sizes and the counts behind the number go in details.
 */
export function fairnessToMetricPoints(ctx: MetricPointContext, report: FairnessPointsInput): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const g of report.groups) {
    for (const [name, v] of Object.entries(g.metrics)) {
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
          ...(g.facet !== undefined ? { facet: g.facet, rest: g.rest } : {}),
          ...(v.reason ? { reason: v.reason } : {}),
          ...(v.fourFifths !== undefined ? { fourFifths: v.fourFifths } : {}),
        },
      });
    }
  }
  return points;
}
