import type { Alert } from '../alerts/index.js';
import type { MetricPoint, MetricStatus } from '../metric-point.schema.js';

/*
 * The report's data: everything the HTML shows, already reduced from a deployment's metric points and
 * alerts. Building it is pure (points in, object out), so the renderer never sees the database and both
 * are tested on plain values.
 *
 * A feature's section follows its skew test (serving vs the reference) when the monitor measured one,
 * else its drift test (vs the previous window). Histograms come from those points' details when the monitor put them there:
 * `details.histogram = { bins: string[], reference: number[], current: number[] }` (shares or counts).
 * The CBPE band comes from `estimate.<metric>` details `{ lower, upper }`.
 */

export interface SeriesPoint {
  /** Window end, ISO. */
  at: string;
  value: number | null;
  status: MetricStatus;
}

export interface FeatureSection {
  name: string;
  /** The latest drift test of the feature: its metric (drift.psi, drift.ks, ...) and verdict. */
  drift: { metric: string; value: number | null; status: MetricStatus } | null;
  histogram: { bins: string[]; reference: number[]; current: number[] } | null;
  /** Drift value over time (the feature's first drift test). */
  over: SeriesPoint[];
}

export interface PerformanceRow {
  at: string;
  /** Realised from delayed labels (null until labels arrive). */
  realised: number | null;
  labelCoverage: number | null;
  /** CBPE estimate with its band. */
  estimate: number | null;
  lower: number | null;
  upper: number | null;
}

export interface FairnessSection {
  metric: string;
  groups: { slice: string; value: number | null; status: MetricStatus; size: number | null }[];
}

export interface ReportData {
  deployment: string;
  model: string;
  generatedAt: string;
  from: string | null;
  to: string | null;
  /** Windows with points in the report. */
  windows: number;
  features: FeatureSection[];
  driftShare: SeriesPoint[];
  /** The share of features drifted against the reference (training-serving skew). */
  skewShare: SeriesPoint[];
  performance: { metric: string; rows: PerformanceRow[] } | null;
  fairness: FairnessSection[];
  alerts: Alert[];
}

const iso = (ms: number) => new Date(ms).toISOString();

function histogramOf(details: Record<string, unknown>): FeatureSection['histogram'] {
  const h = details.histogram as { bins?: unknown; reference?: unknown; current?: unknown } | undefined;
  if (!h || !Array.isArray(h.bins) || !Array.isArray(h.reference) || !Array.isArray(h.current)) return null;
  if (h.bins.length !== h.reference.length || h.bins.length !== h.current.length) return null;
  const num = (xs: unknown[]) => xs.map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : 0));
  return { bins: h.bins.map(String), reference: num(h.reference), current: num(h.current) };
}

const byEnd = (a: MetricPoint, b: MetricPoint) => a.windowEnd - b.windowEnd;
const toSeries = (ps: readonly MetricPoint[]): SeriesPoint[] =>
  [...ps].sort(byEnd).map((p) => ({ at: iso(p.windowEnd), value: p.value, status: p.status }));
const numberOr = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** Picks the performance metric the report charts: accuracy if measured or estimated, else the first one. */
function performanceMetric(points: readonly MetricPoint[]): string | undefined {
  const names = new Set(
    points
      .filter((p) => /^(performance|estimate)\./.test(p.metric) && p.metric !== 'performance.label_coverage')
      .map((p) => p.metric.split('.').slice(1).join('.')),
  );
  return names.has('accuracy') ? 'accuracy' : [...names].sort()[0];
}

/** Reduces a deployment's points (one model version's, or all) and alerts to what the report shows. */
export function buildReportData(input: {
  deployment: string;
  model: string;
  points: readonly MetricPoint[];
  alerts: readonly Alert[];
  generatedAt: number;
  from?: number | undefined;
  to?: number | undefined;
}): ReportData {
  const { points } = input;
  const perFeature = new Map<string, MetricPoint[]>();
  for (const p of points) {
    if (p.feature !== null && p.slice === null && /^(skew|drift)\./.test(p.metric)) {
      perFeature.set(p.feature, [...(perFeature.get(p.feature) ?? []), p]);
    }
  }
  const features: FeatureSection[] = [...perFeature.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, ps]) => {
      const sorted = [...ps].sort(byEnd);
      // Against the reference (skew: serving vs training) first, else against the previous window.
      const own = sorted.filter((p) => p.metric.startsWith('skew.'));
      const chosen = own.length > 0 ? own : sorted;
      const latest = chosen.at(-1)!;
      const metric = latest.metric;
      const latestWithHistogram = [...chosen].reverse().find((p) => histogramOf(p.details) !== null);
      return {
        name,
        drift: { metric, value: latest.value, status: latest.status },
        histogram: latestWithHistogram ? histogramOf(latestWithHistogram.details) : null,
        over: toSeries(chosen.filter((p) => p.metric === metric)),
      };
    });

  const metric = performanceMetric(points);
  let performance: ReportData['performance'] = null;
  if (metric) {
    const rows = new Map<number, PerformanceRow>();
    const row = (end: number) => {
      let r = rows.get(end);
      if (!r) {
        r = { at: iso(end), realised: null, labelCoverage: null, estimate: null, lower: null, upper: null };
        rows.set(end, r);
      }
      return r;
    };
    for (const p of points) {
      if (p.slice !== null || p.feature !== null) continue;
      if (p.metric === `performance.${metric}`) row(p.windowEnd).realised = p.value;
      else if (p.metric === 'performance.label_coverage') row(p.windowEnd).labelCoverage = p.value;
      else if (p.metric === `estimate.${metric}`) {
        const r = row(p.windowEnd);
        r.estimate = p.value;
        r.lower = numberOr(p.details.lower);
        r.upper = numberOr(p.details.upper);
      }
    }
    performance = { metric, rows: [...rows.entries()].sort(([a], [b]) => a - b).map(([, r]) => r) };
  }

  const fairnessLatest = new Map<string, Map<string, MetricPoint>>();
  for (const p of points) {
    if (!p.metric.startsWith('fairness.') || p.slice === null) continue;
    const groups = fairnessLatest.get(p.metric) ?? new Map<string, MetricPoint>();
    const seen = groups.get(p.slice);
    if (!seen || seen.windowEnd < p.windowEnd) groups.set(p.slice, p);
    fairnessLatest.set(p.metric, groups);
  }
  const fairness = [...fairnessLatest.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([m, groups]) => ({
      metric: m,
      groups: [...groups.values()]
        .sort((a, b) => (a.slice ?? '').localeCompare(b.slice ?? ''))
        .map((p) => ({ slice: p.slice!, value: p.value, status: p.status, size: numberOr(p.details.size) })),
    }));

  return {
    deployment: input.deployment,
    model: input.model,
    generatedAt: iso(input.generatedAt),
    from: input.from === undefined ? null : iso(input.from),
    to: input.to === undefined ? null : iso(input.to),
    windows: new Set(points.map((p) => p.windowEnd)).size,
    features,
    driftShare: toSeries(
      points.filter((p) => p.metric === 'drift.share' && p.feature === null && p.slice === null),
    ),
    skewShare: toSeries(
      points.filter((p) => p.metric === 'skew.share' && p.feature === null && p.slice === null),
    ),
    performance,
    fairness,
    alerts: [...input.alerts],
  };
}
