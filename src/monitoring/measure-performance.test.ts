import { describe, expect, it } from 'vitest';
import { measurePerformance } from './measure-performance.js';
import { parseMonitorSpec } from './monitor-spec.js';
import { PointSink } from './point-builder.js';
import type { ServedRow } from './window-traffic.js';

const scope = {
  monitorId: 'mon_1',
  runId: 'mrun_1',
  deploymentId: 'dep_1',
  modelVersionId: 'mv_1',
  windowStart: 0,
  windowEnd: 1,
};

/** A served row of a three-class model: predicted class `predicted` with probability 0.6. */
function row(i: number, predicted: string, label: string | undefined, region: string): ServedRow {
  const probabilities = Object.fromEntries(
    ['express', 'freight', 'standard'].map((c) => [c, c === predicted ? 0.6 : 0.2]),
  );
  return {
    id: `pred_${i}`,
    servedAt: i,
    inputs: { region },
    prediction: predicted,
    probabilities,
    label,
    labelDelayMs: label === undefined ? undefined : 1000,
  };
}

describe('performance from delayed labels of a multiclass model', () => {
  it('reports accuracy, macro/micro F1 and log loss, overall and per slice', () => {
    // 40 labelled rows: 30 right, 10 wrong; 10 more without labels.
    const rows: ServedRow[] = [];
    for (let i = 0; i < 40; i++) {
      const predicted = ['express', 'freight', 'standard'][i % 3]!;
      const label = i < 30 ? predicted : predicted === 'express' ? 'freight' : 'express';
      rows.push(row(i, predicted, label, i % 2 === 0 ? 'north' : 'south'));
    }
    for (let i = 40; i < 50; i++) rows.push(row(i, 'standard', undefined, 'north'));
    const spec = parseMonitorSpec(
      'name: m\nprotected:\n  attribute: region\n  minGroupSize: 10\ndrift:\n  minRows: 10\n',
    );
    const sink = new PointSink(scope);
    measurePerformance(sink, spec, rows);
    const value = (metric: string, slice: string | null = null) =>
      sink.points.find((p) => p.metric === metric && p.slice === slice)?.value;
    expect(value('performance.label_coverage')).toBeCloseTo(40 / 50, 12);
    expect(value('performance.accuracy')).toBeCloseTo(30 / 40, 12);
    expect(value('performance.f1_micro')).toBeCloseTo(30 / 40, 12);
    expect(value('performance.log_loss')).toBeCloseTo(-(30 * Math.log(0.6) + 10 * Math.log(0.2)) / 40, 12);
    expect(value('performance.f1_macro')).toBeGreaterThan(0);
    expect(value('performance.accuracy', 'region=north')).toBeDefined();
    // Binary-only metrics are not made up for a multiclass model.
    expect(sink.points.some((p) => p.metric === 'performance.roc_auc')).toBe(false);
  });

  it('names a label the model does not know and measures nothing from it', () => {
    const rows = Array.from({ length: 12 }, (_, i) =>
      row(i, 'express', i === 3 ? 'drone' : 'express', 'north'),
    );
    const sink = new PointSink(scope);
    measurePerformance(sink, parseMonitorSpec('name: m\ndrift:\n  minRows: 5\n'), rows);
    const accuracy = sink.points.find((p) => p.metric === 'performance.accuracy')!;
    expect(accuracy.status).toBe('insufficient_data');
    expect(String(accuracy.details.reason)).toMatch(/"drone" of pred_3 is not one of the model's classes/);
  });
});
