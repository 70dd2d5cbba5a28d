import type { Alert, ListAlertsQuery } from '../monitoring/alerts/alert.schema.js';
import type { HttpTransport } from './http-transport.js';

/** The alerts part of SextantApi, and a deployment's monitoring report. */
export interface AlertsApi {
  list(q?: ListAlertsQuery): Promise<Alert[]>;
  get(id: string): Promise<Alert>;
  ack(id: string, input?: { comment?: string }): Promise<Alert>;
  /** The monitoring report of a deployment as one self-contained HTML document. */
  report(deployment: string, range?: { from?: string; to?: string }): Promise<string>;
}

const enc = encodeURIComponent;

/** AlertsApi over HTTP. */
export function alertsHttpApi(t: HttpTransport): AlertsApi {
  return {
    list: async (q = {}) =>
      (await t.call<{ alerts: Alert[] }>('GET', '/api/v1/alerts', { query: q as Record<string, unknown> }))
        .alerts,
    get: (id) => t.call('GET', `/api/v1/alerts/${enc(id)}`),
    ack: (id, input = {}) => t.call('POST', `/api/v1/alerts/${enc(id)}/ack`, { json: input }),
    report: async (deployment, range = {}) =>
      (
        await t.raw('GET', `/api/v1/deployments/${enc(deployment)}/monitoring/report`, {
          query: range as Record<string, unknown>,
        })
      ).text(),
  };
}
