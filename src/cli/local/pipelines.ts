import type { Services } from '../../app/index.js';
import type { PipelinesApi } from '../../client/pipelines-api.js';

/** PipelinesApi served in-process from a local workspace. */
export function pipelinesLocalApi(s: Services, actor: string): PipelinesApi {
  const p = s.pipelines.service;
  return {
    create: (yaml) => p.create({ yaml, actor }),
    list: () => p.listPipelines(),
    run: (input) => p.start({ ...input, actor, trigger: { kind: 'manual', key: `cli:${actor}` } }),
    runs: (q) => p.listRuns(q),
    get: (id) => p.getRun(id),
    logs: (id, q = {}) => p.logs({ runId: id, ...q }),
    cancel: (id) => p.cancel(id, actor),
  };
}
