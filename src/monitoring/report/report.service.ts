import type { Clock } from '../../core/clock.js';
import { ValidationError } from '../../core/errors.js';
import type { AlertsDomain } from '../alerts/index.js';
import type { MetricPoint } from '../metric-point.schema.js';
import { buildReportData, type ReportData } from './report-data.js';
import { renderReportHtml } from './report-html.js';

/** A deployment's stored metric points over a period (monitors store them; the wiring adapts their query). */
export interface MetricSeriesReader {
  /** Points with windowEnd in (from, to], any monitor of the deployment, oldest first. */
  points(q: {
    deploymentId: string;
    from?: number | undefined;
    to?: number | undefined;
  }): Promise<MetricPoint[]>;
  /** The latest point of every series (deployment, model version, metric, feature, slice): the gauges. */
  latest(): Promise<MetricPoint[]>;
}

export interface ReportDeps {
  clock: Clock;
  series: MetricSeriesReader;
  alerts: Pick<AlertsDomain, 'list'>;
  /** A deployment by name or id: its id, name and model. */
  deployment(nameOrId: string): Promise<{ id: string; name: string; model: string }>;
}

function timeOf(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  // A time without a zone is UTC, as everywhere in the API.
  const t = Date.parse(/T[\d:.]+$/.test(text) ? `${text}Z` : text);
  if (!Number.isFinite(t)) throw new ValidationError(`${field}: must be an ISO-8601 time`, { field });
  return t;
}

/** The monitoring report of a deployment: its data, and the self-contained HTML. */
export function createReportService(deps: ReportDeps) {
  async function data(input: {
    deployment: string;
    from?: string | undefined;
    to?: string | undefined;
  }): Promise<ReportData> {
    const from = timeOf(input.from, 'from');
    const to = timeOf(input.to, 'to');
    if (from !== undefined && to !== undefined && from >= to) {
      throw new ValidationError('from: must be before to', { field: 'from' });
    }
    const d = await deps.deployment(input.deployment);
    const points = await deps.series.points({ deploymentId: d.id, from, to });
    const alerts = (await deps.alerts.list({ deployment: d.id, limit: 1000 })).filter((a) => {
      const at = Date.parse(a.firedAt);
      // An alert belongs to the period if it was open at any moment of it.
      return (
        (to === undefined || at <= to) &&
        (from === undefined || a.resolvedAt === null || Date.parse(a.resolvedAt) >= from)
      );
    });
    return buildReportData({
      deployment: d.name,
      model: d.model,
      points,
      alerts,
      generatedAt: deps.clock.now(),
      from,
      to,
    });
  }
  return {
    data,
    /** The report as one HTML file (inline SVG, no script, nothing fetched). */
    html: async (input: { deployment: string; from?: string | undefined; to?: string | undefined }) =>
      renderReportHtml(await data(input)),
  };
}

export type ReportService = ReturnType<typeof createReportService>;
