import type { Services } from '../../app/index.js';
import type { MonitoringApi } from '../../client/monitoring-api.js';

const ms = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));

/** MonitoringApi served in-process from a local workspace. */
export function monitoringLocalApi(s: Services, actor: string): MonitoringApi {
  const m = s.monitoring;
  return {
    list: (q = {}) => m.monitors.list(q),
    create: (input) => m.monitors.create({ actor, ...input }),
    get: (id) => m.monitors.get(id),
    remove: (id) => m.monitors.remove({ actor, id }),
    references: (id) => m.monitors.references(id),
    runs: (id, limit) => m.runs.list(id, limit),
    run: (input) =>
      m.runDeployment({
        actor,
        deployment: input.deployment,
        monitor: input.monitor,
        from: ms(input.from),
        to: ms(input.to),
      }),
    series: (q) => m.series.query(q),
    fairness: (q) => m.fairness(q),
  };
}
