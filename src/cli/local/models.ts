import type { ModelsApi } from '../../client/models-api.js';
import type { Services } from '../../server/services.js';

/** ModelsApi served in-process from a local workspace. */
export function modelsLocalApi(_s: Services, _actor: string): ModelsApi {
  return {};
}
