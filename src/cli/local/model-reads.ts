import type { ModelsApi } from '../../client/models-api.js';
import type { RegistryReader } from '../../registry/index.js';

/** The members of ModelsApi that only read, served by createModelReads. */
export const modelReadKeys = ['list', 'get', 'versions', 'version'] as const;

/**
 * ModelsApi's reads served in-process from a registry reader: the full registry answers the same
 * reads, and a listing served from a reader needs only the database (no event bus, no policies).
 */
export function modelReadsLocalApi(r: RegistryReader): Pick<ModelsApi, (typeof modelReadKeys)[number]> {
  return {
    list: (q = {}) =>
      r.models.list({
        ...(q.q ? { nameContains: q.q } : {}),
        offset: q.offset ?? 0,
        limit: q.maxResults ?? 100,
      }),
    get: (name) => r.models.get(name),
    versions: (name, q = {}) =>
      r.versions.list({ model: name, offset: q.offset ?? 0, limit: q.maxResults ?? 100 }),
    version: (ref) => r.versions.resolve(ref.includes('@') ? ref : `${ref}@latest`),
  };
}
