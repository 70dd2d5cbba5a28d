import { describe, expect, it } from 'vitest';
import type { Alert } from '../alerts/index.js';
import type { MetricPoint } from '../metric-point.schema.js';
import { buildReportData } from './report-data.js';
import { renderReportHtml } from './report-html.js';

const HOUR = 3_600_000;
const point = (o: Partial<MetricPoint> & { metric: string; end: number }): MetricPoint => {
  const { end, ...rest } = o;
  return {
    monitorId: 'mon_1',
    runId: `run_${end}`,
    deploymentId: 'dep_1',
    modelVersionId: 'mv_1',
    feature: null,
    slice: null,
    windowStart: end - HOUR,
    windowEnd: end,
    value: 0.1,
    status: 'ok',
    details: {},
    ...rest,
  };
};
const histogram = { bins: ['<18', '18-40', '>40'], reference: [10, 60, 30], current: [40, 40, 20] };
const alert: Alert = {
  id: 'alr_01',
  rule: 'drift <img src=x onerror=alert(1)>',
  monitorId: 'mon_1',
  deploymentId: 'dep_1',
  modelVersionId: 'mv_1',
  metric: 'drift.share',
  feature: null,
  slice: null,
  severity: 'critical',
  action: 'rollback',
  state: 'firing',
  condition: '> 0.3',
  value: 0.5,
  threshold: 0.3,
  windowStart: new Date(HOUR).toISOString(),
  windowEnd: new Date(2 * HOUR).toISOString(),
  firedAt: new Date(2 * HOUR).toISOString(),
  lastSeenAt: new Date(2 * HOUR).toISOString(),
  acknowledgedAt: null,
  acknowledgedBy: null,
  comment: null,
  resolvedAt: null,
  actionOutcome: { action: 'rollback', status: 'done', message: 'credit@champion rolled back 2 -> 1' },
};

function report() {
  const points: MetricPoint[] = [];
  for (const end of [HOUR, 2 * HOUR, 3 * HOUR]) {
    points.push(
      point({
        metric: 'drift.psi',
        feature: 'age',
        end,
        value: end / HOUR / 10,
        status: end > HOUR ? 'alert' : 'ok',
        details: { histogram },
      }),
      point({ metric: 'drift.psi', feature: '<script>alert(1)</script>', end, value: 0.01 }),
      point({ metric: 'skew.ks', feature: 'income', end, value: 0.2, status: 'alert' }),
      point({ metric: 'drift.ks', feature: 'income', end, value: 0.9 }),
      point({ metric: 'drift.share', end, value: end === HOUR ? 0 : 0.5 }),
      point({ metric: 'skew.share', end, value: 0.6, status: 'alert' }),
      point({
        metric: 'performance.accuracy',
        end,
        value: end === 3 * HOUR ? null : 0.9,
        status: end === 3 * HOUR ? 'insufficient_data' : 'ok',
      }),
      point({ metric: 'performance.label_coverage', end, value: end === 3 * HOUR ? 0 : 0.8 }),
      point({ metric: 'estimate.accuracy', end, value: 0.85, details: { lower: 0.8, upper: 0.9 } }),
    );
  }
  points.push(
    point({
      metric: 'fairness.di',
      slice: 'sex=female',
      end: 3 * HOUR,
      value: 0.7,
      status: 'alert',
      details: { size: 120 },
    }),
    point({ metric: 'fairness.di', slice: 'sex=male', end: 3 * HOUR, value: 1, details: { size: 300 } }),
  );
  return buildReportData({
    deployment: 'credit-live',
    model: 'credit',
    points,
    alerts: [alert],
    generatedAt: 4 * HOUR,
  });
}

describe('monitoring report', () => {
  it('reduces points to per-feature drift, accuracy beside its estimate and band, fairness per group', () => {
    const d = report();
    expect(d.windows).toBe(3);
    expect(d.features.map((f) => f.name)).toEqual(['<script>alert(1)</script>', 'age', 'income']);
    // Against the reference (skew) before against the previous window (drift).
    expect(d.features[2]!.drift).toEqual({ metric: 'skew.ks', value: 0.2, status: 'alert' });
    expect(d.features[1]).toMatchObject({
      drift: { metric: 'drift.psi', value: 0.3, status: 'alert' },
      histogram,
    });
    expect(d.features[1]!.over.map((p) => p.value)).toEqual([0.1, 0.2, 0.3]);
    expect(d.driftShare.map((p) => p.value)).toEqual([0, 0.5, 0.5]);
    expect(d.skewShare.map((p) => p.value)).toEqual([0.6, 0.6, 0.6]);
    expect(d.performance?.metric).toBe('accuracy');
    expect(d.performance?.rows.at(-1)).toMatchObject({
      realised: null,
      labelCoverage: 0,
      estimate: 0.85,
      lower: 0.8,
      upper: 0.9,
    });
    expect(d.fairness).toEqual([
      {
        metric: 'fairness.di',
        groups: [
          { slice: 'sex=female', value: 0.7, status: 'alert', size: 120 },
          { slice: 'sex=male', value: 1, status: 'ok', size: 300 },
        ],
      },
    ]);
  });

  it('is one self-contained file: features and groups shown, user text escaped, no script and no URL', () => {
    const html = renderReportHtml(report());
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('age');
    expect(html).toContain('sex=female (n=120)');
    expect(html).toContain('share drifted vs reference');
    expect(html).toContain('share drifted vs previous window');
    expect(html).toContain('credit@champion rolled back 2 -&gt; 1');
    // A feature named like markup is shown as text, never run.
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('drift &lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<link|@import|url\(/i);
    // Drift share, age's histogram, three features' drift lines, performance, fairness (no histogram stored for the others).
    expect((html.match(/<svg /g) ?? []).length).toBe(7);
    expect(html).toContain('No histogram stored for this feature.');
  });

  it('an empty period says so instead of drawing empty charts', () => {
    const html = renderReportHtml(
      buildReportData({ deployment: 'quiet', model: 'm', points: [], alerts: [], generatedAt: HOUR }),
    );
    expect(html).toContain('No drift measured in this period.');
    expect(html).toContain('No alerts in this period.');
    expect(html).not.toContain('<svg');
  });
});
