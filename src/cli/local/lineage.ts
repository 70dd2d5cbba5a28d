import type { LineageApi } from '../../client/lineage-api.js';
import type { Services } from '../../server/services.js';

/** LineageApi served in-process from a local workspace. */
export function lineageLocalApi(_s: Services, _actor: string): LineageApi {
  return {};
}
