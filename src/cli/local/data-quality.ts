import type { Services } from '../../app/index.js';
import type { DataQualityApi } from '../../client/data-quality-api.js';

/** DataQualityApi served in-process from a local workspace. */
export function dataQualityLocalApi(s: Services, actor: string): DataQualityApi {
  const q = s.dataQuality;
  return {
    validate: (ref, suiteYaml, opts) =>
      q.validate({ actor, ref, suiteYaml, ...(opts?.table ? { table: opts.table } : {}) }),
    results: (ref, opts) => q.results(ref, opts?.suite ? { suite: opts.suite } : {}),
    latest: async (ref) => q.latestResults((await s.data.versions.resolve(ref)).id),
    suggest: (ref, opts) => q.suggest(ref, opts?.table ? { table: opts.table } : {}),
    compare: ({ reference, current, table, ...options }) =>
      q.compare({ reference, current, ...(table ? { table } : {}), options }),
  };
}
