import type { Services } from '../../app/index.js';
import type { WebhooksApi } from '../../client/webhooks-api.js';

/** WebhooksApi served in-process from a local workspace. */
export function webhooksLocalApi(s: Services, actor: string): WebhooksApi {
  return {
    list: () => s.webhooks.list(),
    add: (input) => s.webhooks.add({ actor, ...input }),
    get: (id) => s.webhooks.get(id),
    remove: (id) => s.webhooks.remove({ actor, id }),
    deliveries: (q) => s.webhooks.deliveries(q),
    test: (id) => s.webhooks.test({ actor, id }),
  };
}
