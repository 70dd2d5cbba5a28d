import type { MetricPoint, MetricStatus } from '../metric-point.schema.js';
import type { FeatureDrift, WindowDrift } from './drift-result.js';
import type { LiveQuality } from './live-quality.js';

/** Where the points belong: the run, its window and slice, and whether this is drift or skew. */
export interface PointContext {
  monitorId: string;
  runId: string;
  deploymentId: string;
  modelVersionId: string;
  windowStart: number;
  windowEnd: number;
  slice?: string | null;
  /** 'drift' (serving vs a recent serving window) or 'skew' (serving vs the training reference). */
  comparison: 'drift' | 'skew';
}

/** What a run measured, any part of it. */
export interface MeasuredWindow {
  drift?: WindowDrift;
  quality?: readonly LiveQuality[];
}

/**
 * MetricPoints of a window: per feature `<drift|skew>.<test>` (value: the p-value, BH-adjusted when
 * BH is on, or the distance) and `<drift|skew>.psi` (band moderate = warning, significant = alert)
 * unless the test is psi itself; `<drift|skew>.share`; per feature `quality.null_share`,
 * `quality.out_of_range_share`, `quality.unseen_share`, `quality.non_finite`, `quality.type_change_share`.
 */
export function toMetricPoints(measured: MeasuredWindow, ctx: PointContext): MetricPoint[] {
  const base = {
    monitorId: ctx.monitorId,
    runId: ctx.runId,
    deploymentId: ctx.deploymentId,
    modelVersionId: ctx.modelVersionId,
    windowStart: ctx.windowStart,
    windowEnd: ctx.windowEnd,
    slice: ctx.slice ?? null,
  };
  const out: MetricPoint[] = [];
  const p = ctx.comparison;
  if (measured.drift) {
    for (const f of measured.drift.features) out.push(...featurePoints(f, p, base));
    out.push({
      ...base,
      metric: `${p}.share`,
      feature: null,
      value: measured.drift.driftShare,
      status: measured.drift.status,
      details: {
        tested: measured.drift.tested,
        drifted: measured.drift.drifted,
        threshold: measured.drift.shareThreshold,
        fdr: measured.drift.fdr,
      },
    });
  }
  for (const q of measured.quality ?? []) {
    const status: MetricStatus = q.rows === 0 ? 'insufficient_data' : 'ok';
    const facts = { rows: q.rows };
    const point = (metric: string, value: number, details: Record<string, unknown>): MetricPoint => ({
      ...base,
      metric,
      feature: q.feature,
      value: status === 'insufficient_data' ? null : value,
      status,
      details: { ...facts, ...details },
    });
    out.push(
      point('quality.null_share', q.nullShare, { nulls: q.nulls, referenceNullShare: q.referenceNullShare }),
      point('quality.out_of_range_share', q.outOfRangeShare, { outOfRange: q.outOfRange }),
      point('quality.unseen_share', q.unseenShare, {
        unseen: q.unseen,
        examples: q.unseenExamples,
        exact: q.unseenExact,
      }),
      point('quality.non_finite', q.nan + q.infinite, { nan: q.nan, infinite: q.infinite }),
      point('quality.type_change_share', q.typeChangeShare, {
        typeChanges: q.typeChanges,
        expectedType: q.expectedType,
        types: q.types,
      }),
    );
  }
  return out;
}

type Base = Omit<MetricPoint, 'metric' | 'feature' | 'value' | 'status' | 'details'>;

function featurePoints(f: FeatureDrift, prefix: string, base: Base): MetricPoint[] {
  const details: Record<string, unknown> = {
    test: f.test,
    statistic: f.statistic,
    threshold: f.threshold,
    referenceRows: f.referenceRows,
    currentRows: f.currentRows,
    approximate: f.approximate,
    excluded: f.excluded,
  };
  if (f.pValue !== undefined) details.pValue = f.pValue;
  if (f.pAdjusted !== undefined) details.pAdjusted = f.pAdjusted;
  if (f.distance !== undefined) details.distance = f.distance;
  if (f.errorBound !== undefined) details.errorBound = f.errorBound;
  if (f.reason) details.reason = f.reason;
  if (f.message) details.message = f.message;
  // The report draws reference vs current from these (compact: at most 20 bins).
  if (f.histogram) details.histogram = f.histogram;
  const insufficient = f.status === 'insufficient_data';
  const value = insufficient ? null : (f.pAdjusted ?? f.pValue ?? f.distance ?? null);
  const points: MetricPoint[] = [
    {
      ...base,
      metric: `${prefix}.${f.test ?? 'unknown'}`,
      feature: f.feature,
      value,
      status: f.status,
      details,
    },
  ];
  if (f.test !== 'psi') {
    const band = f.psiBand;
    points.push({
      ...base,
      metric: `${prefix}.psi`,
      feature: f.feature,
      value: insufficient ? null : f.psi,
      status: insufficient
        ? 'insufficient_data'
        : band === 'significant'
          ? 'alert'
          : band === 'moderate'
            ? 'warning'
            : 'ok',
      details: { band, referenceRows: f.referenceRows, currentRows: f.currentRows, reason: f.reason },
    });
  }
  return points;
}
