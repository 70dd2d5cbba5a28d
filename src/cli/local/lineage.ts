import type { Services } from '../../app/index.js';
import type { LineageApi } from '../../client/lineage-api.js';

/** LineageApi served in-process from a local workspace. */
export function lineageLocalApi(s: Services, actor: string): LineageApi {
  return {
    graph: (query) => s.governance.lineage.graph(query),
    exportOpenLineage: (runId, options = {}) => s.governance.openLineage.exportRun({ runId, ...options }),
    gc: (input = {}) => s.governance.gc.run({ actor, ...input }),
  };
}
