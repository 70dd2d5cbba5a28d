import type { DatasetFairness, DatasetFairnessQuery } from '../monitoring/dataset-fairness.schema.js';
import type { MetricPoint } from '../monitoring/metric-point.schema.js';
import type {
  CreateMonitorInput,
  Monitor,
  MonitorReference,
  MonitorRun,
  MonitorRunResult,
  SeriesQueryInput,
} from '../monitoring/monitor.schema.js';
import type { HttpTransport } from './http-transport.js';

/** The monitoring part of SextantApi: monitors, runs (on demand) and the metric series. */
export interface MonitoringApi {
  list(q?: { deployment?: string }): Promise<Monitor[]>;
  /** Creates a monitor from monitor.yaml text (the same name with another spec: its next version). */
  create(input: CreateMonitorInput): Promise<Monitor>;
  get(id: string): Promise<Monitor>;
  remove(id: string): Promise<void>;
  references(id: string): Promise<MonitorReference[]>;
  runs(id: string, limit?: number): Promise<MonitorRun[]>;
  /** Runs a deployment's monitors now; from/to are ISO times. */
  run(input: {
    deployment: string;
    monitor?: string;
    from?: string;
    to?: string;
  }): Promise<MonitorRunResult[]>;
  series(q: SeriesQueryInput): Promise<MetricPoint[]>;
  /** Pre-training bias (CI, DPL) of a labelled dataset version per group of an attribute. */
  fairness(q: DatasetFairnessQuery): Promise<DatasetFairness>;
}

const enc = encodeURIComponent;

/** MonitoringApi over HTTP. */
export function monitoringHttpApi(t: HttpTransport): MonitoringApi {
  return {
    list: async (q = {}) =>
      (
        await t.call<{ monitors: Monitor[] }>('GET', '/api/v1/monitors', {
          query: q as Record<string, unknown>,
        })
      ).monitors,
    create: (input) => t.call('POST', '/api/v1/monitors', { json: input }),
    get: (id) => t.call('GET', `/api/v1/monitors/${enc(id)}`),
    remove: async (id) => void (await t.call('DELETE', `/api/v1/monitors/${enc(id)}`)),
    references: async (id) =>
      (await t.call<{ references: MonitorReference[] }>('GET', `/api/v1/monitors/${enc(id)}/references`))
        .references,
    runs: async (id, limit) =>
      (
        await t.call<{ runs: MonitorRun[] }>('GET', `/api/v1/monitors/${enc(id)}/runs`, {
          query: limit === undefined ? {} : { limit },
        })
      ).runs,
    run: async (input) =>
      (await t.call<{ results: MonitorRunResult[] }>('POST', '/api/v1/monitors/run', { json: input }))
        .results,
    series: async (q) =>
      (
        await t.call<{ points: MetricPoint[] }>('GET', '/api/v1/monitors/series', {
          query: q as Record<string, unknown>,
        })
      ).points,
    fairness: (q) => t.call('GET', '/api/v1/monitors/fairness', { query: q as Record<string, unknown> }),
  };
}
