import type { WebhooksApi } from '../../client/webhooks-api.js';
import type { Services } from '../../server/services.js';

/** WebhooksApi served in-process from a local workspace. */
export function webhooksLocalApi(_s: Services, _actor: string): WebhooksApi {
  return {};
}
