import { describe, expect, it } from 'vitest';
import type { MetricPoint } from '../metric-point.schema.js';
import { createMonitoringMetrics } from './monitoring-metrics.js';

const point = (o: Partial<MetricPoint>): MetricPoint => ({
  monitorId: 'mon_1',
  runId: 'run_1',
  deploymentId: 'dep_1',
  modelVersionId: 'mv_1',
  metric: 'drift.share',
  feature: null,
  slice: null,
  windowStart: 0,
  windowEnd: 1,
  value: 0.25,
  status: 'ok',
  details: {},
  ...o,
});

describe('monitoring gauges', () => {
  it('expose the latest value per series with names for deployments, skip insufficient data, cap the series count', async () => {
    const m = createMonitoringMetrics({
      latestPoints: async () => [
        point({}),
        point({ metric: 'drift.psi', feature: 'age', value: 0.31 }),
        point({ metric: 'performance.accuracy', value: null, status: 'insufficient_data' }),
        point({ metric: 'fairness.di', slice: 'sex=female', value: 0.7, deploymentId: 'dep_gone' }),
      ],
      deploymentNames: async () => new Map([['dep_1', 'credit-live']]),
      openAlertsBySeverity: async () => [{ severity: 'critical', count: 2 }],
      maxSeries: 2,
    });
    const text = await m.text();
    expect(text).toContain(
      'sextant_monitor_metric{deployment="credit-live",model_version="mv_1",metric="drift.share",feature="",slice=""} 0.25',
    );
    expect(text).toContain('metric="drift.psi",feature="age",slice=""} 0.31');
    expect(text).not.toContain('performance.accuracy');
    // Three valued series, two allowed: the third is counted, not shown.
    expect(text).not.toContain('fairness.di');
    expect(text).toContain('sextant_monitor_series_dropped 1');
    expect(text).toContain('sextant_alerts_open{severity="critical"} 2');
    expect(text).toContain('sextant_alerts_open{severity="warning"} 0');
  });
});
