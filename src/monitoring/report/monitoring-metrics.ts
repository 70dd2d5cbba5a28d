import type PromClient from 'prom-client';
import { lazyRequire } from '../../core/lazy-require.js';
import type { MetricPoint } from '../metric-point.schema.js';

/*
 * Prometheus gauges of monitoring, on a registry of their own (as serving's), read at each scrape from
 * the database: any replica answers the same, whichever ran the monitor. Cardinality is bounded: one
 * series per deployment, model version, metric, feature and slice of the latest run, capped at
 * `maxSeries` (the rest are counted in sextant_monitor_series_dropped, never silently lost).
 */

const promClient = lazyRequire<typeof PromClient>('prom-client');

export interface MonitoringMetricsDeps {
  /** The latest point of every series (deployment, model version, metric, feature, slice). */
  latestPoints(): Promise<MetricPoint[]>;
  /** A deployment's name by id (labels read better than ids); the id when unknown. */
  deploymentNames(): Promise<Map<string, string>>;
  openAlertsBySeverity(): Promise<{ severity: string; count: number }[]>;
  maxSeries?: number;
}

const valued = (points: readonly MetricPoint[]) =>
  points.filter((p) => p.value !== null && Number.isFinite(p.value));

/** Creates the monitoring gauges: latest value per monitor metric, open alerts by severity. */
export function createMonitoringMetrics(deps: MonitoringMetricsDeps) {
  const maxSeries = deps.maxSeries ?? 2000;
  let built: PromClient.Registry | undefined;
  /** This scrape's reading: both gauges of the series collect from one query, whatever order they run in. */
  let reading: Promise<{ points: MetricPoint[]; names: Map<string, string> }> = Promise.resolve({
    points: [],
    names: new Map(),
  });
  function registry() {
    if (built) return built;
    const { Gauge, Registry } = promClient();
    const r = new Registry();
    const registers = [r];
    new Gauge({
      name: 'sextant_monitor_metric',
      help: 'Latest value of each monitor metric, by deployment, model version, metric, feature and slice (absent while insufficient data)',
      labelNames: ['deployment', 'model_version', 'metric', 'feature', 'slice'] as const,
      registers,
      async collect() {
        this.reset();
        const { points, names } = await reading;
        for (const p of valued(points).slice(0, maxSeries)) {
          this.set(
            {
              deployment: names.get(p.deploymentId) ?? p.deploymentId,
              model_version: p.modelVersionId,
              metric: p.metric,
              feature: p.feature ?? '',
              slice: p.slice ?? '',
            },
            p.value!,
          );
        }
      },
    });
    new Gauge({
      name: 'sextant_monitor_series_dropped',
      help: 'Monitor series left out of sextant_monitor_metric by its cardinality cap',
      registers,
      async collect() {
        this.set(Math.max(0, valued((await reading).points).length - maxSeries));
      },
    });
    new Gauge({
      name: 'sextant_alerts_open',
      help: 'Open alerts (firing or acknowledged), by severity',
      labelNames: ['severity'] as const,
      registers,
      async collect() {
        this.reset();
        // Every severity is present, 0 included, so an alert rule on the gauge sees it drop to 0.
        for (const severity of ['info', 'warning', 'critical']) this.set({ severity }, 0);
        for (const { severity, count } of await deps.openAlertsBySeverity()) this.set({ severity }, count);
      },
    });
    built = r;
    return r;
  }
  return {
    /** The Prometheus text exposition of the monitoring gauges. */
    text: (): Promise<string> => {
      const r = registry();
      reading = Promise.all([deps.latestPoints(), deps.deploymentNames()]).then(([points, names]) => ({
        points,
        names,
      }));
      return r.metrics();
    },
  };
}

export type MonitoringMetrics = ReturnType<typeof createMonitoringMetrics>;
