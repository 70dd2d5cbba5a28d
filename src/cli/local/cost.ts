import type { Services } from '../../app/index.js';
import type { CostApi } from '../../client/cost-api.js';

/** CostApi served in-process from a local workspace. */
export function costLocalApi(s: Services, actor: string): CostApi {
  return {
    recordUsage: (input) => s.cost.usage.record({ actor, ...input }),
    usageOfRun: (runId) => s.cost.usage.ofRun(runId),
    setPrices: (body) => s.cost.prices.set({ actor, ...body }),
    getPrices: (version) => s.cost.prices.get(version),
    report: (q) => s.cost.reports.report(q),
  };
}
