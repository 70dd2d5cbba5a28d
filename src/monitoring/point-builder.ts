import type { MetricPoint, MetricStatus } from './metric-point.schema.js';

/*
 * What every measurement of one version in one window shares; measures only say metric, feature,
 * slice, value, status and details. A value that is not a finite number is never stored as one: it
 * becomes insufficient_data with the reason (no number is better than a wrong one).
 */

export interface PointScope {
  monitorId: string;
  runId: string;
  deploymentId: string;
  modelVersionId: string;
  windowStart: number;
  windowEnd: number;
}

export interface PointInput {
  metric: string;
  feature?: string | null;
  slice?: string | null;
  value: number | null;
  status: MetricStatus;
  details?: Record<string, unknown>;
}

/** Collects the points of one scope. */
export class PointSink {
  readonly points: MetricPoint[] = [];
  constructor(readonly scope: PointScope) {}

  add(p: PointInput): void {
    const finite = p.value !== null && Number.isFinite(p.value);
    const details = p.details ?? {};
    this.points.push({
      ...this.scope,
      metric: p.metric,
      feature: p.feature ?? null,
      slice: p.slice ?? null,
      value: finite ? p.value : null,
      status: finite || p.status === 'insufficient_data' ? p.status : 'insufficient_data',
      details:
        finite || p.value === null
          ? details
          : { ...details, reason: details.reason ?? 'not a finite number' },
    });
  }

  /** Points the stats library built for this scope, with extra details merged in. */
  push(points: readonly MetricPoint[], extra: Record<string, unknown> = {}): void {
    for (const p of points) this.points.push({ ...p, details: { ...p.details, ...extra } });
  }

  /** A measurement that cannot be made, with the reason people read. */
  insufficient(metric: string, reason: string, extra: Omit<PointInput, 'metric' | 'value' | 'status'> = {}) {
    this.add({
      ...extra,
      metric,
      value: null,
      status: 'insufficient_data',
      details: { ...extra.details, reason },
    });
  }
}
