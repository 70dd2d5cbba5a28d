import type { Services } from '../../app/index.js';
import type { AlertsApi } from '../../client/alerts-api.js';

/** AlertsApi served in-process from a local workspace. */
export function alertsLocalApi(s: Services, actor: string): AlertsApi {
  return {
    list: (q) => s.alerts.list(q),
    get: (id) => s.alerts.get(id),
    ack: (id, input = {}) => s.alerts.acknowledge({ actor, id, ...input }),
    report: (deployment, range = {}) => s.monitoringReport.html({ deployment, ...range }),
  };
}
