import type { Services } from '../../app/index.js';
import type { JobsApi } from '../../client/jobs-api.js';

/** JobsApi served in-process from a local workspace. */
export function jobsLocalApi(s: Services, actor: string): JobsApi {
  return {
    list: (q) => s.jobs.list(q),
    get: (id) => s.jobs.get(id),
    cancel: (id) => s.jobs.cancel({ actor, id }),
    workers: () => s.jobs.workers(),
  };
}
