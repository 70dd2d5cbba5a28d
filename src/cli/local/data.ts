import type { DataApi } from '../../client/data-api.js';
import type { Services } from '../../server/services.js';

/** DataApi served in-process from a local workspace. */
export function dataLocalApi(_s: Services, _actor: string): DataApi {
  return {};
}
