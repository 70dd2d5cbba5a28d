/** The monitoring report: report data from metric points and alerts, rendered as one self-contained HTML file. */

/** Prometheus gauges: latest value per monitor metric (bounded), open alerts by severity. */
export {
  createMonitoringMetrics,
  type MonitoringMetrics,
  type MonitoringMetricsDeps,
} from './monitoring-metrics.js';
/** The report of a deployment over a period, on a series reader port. */
export {
  createReportService,
  type MetricSeriesReader,
  type ReportDeps,
  type ReportService,
} from './report.service.js';
/** Reduces points and alerts to the report's data (pure). */
export { buildReportData, type ReportData } from './report-data.js';
/** Renders report data as HTML with inline SVG (pure; user text escaped). */
export { renderReportHtml } from './report-html.js';
