import type { DataQualityApi } from '../../client/data-quality-api.js';
import type { Services } from '../../server/services.js';

/** DataQualityApi served in-process from a local workspace. */
export function dataQualityLocalApi(_s: Services, _actor: string): DataQualityApi {
  return {};
}
