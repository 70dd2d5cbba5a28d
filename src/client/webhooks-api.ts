import type {
  CreatedWebhook,
  CreateWebhookInput,
  DeliveriesQuery,
  WebhookDelivery,
  WebhookTarget,
} from '../events/webhooks/webhook.schema.js';
import type { HttpTransport } from './http-transport.js';

/** The Webhooks part of SextantApi: targets (admin) and the delivery log. */
export interface WebhooksApi {
  list(): Promise<WebhookTarget[]>;
  /** Adds a target; the reply carries its signing secret, shown this once. */
  add(input: CreateWebhookInput): Promise<CreatedWebhook>;
  get(id: string): Promise<WebhookTarget>;
  remove(id: string): Promise<void>;
  deliveries(q?: DeliveriesQuery): Promise<WebhookDelivery[]>;
  /** Sends a 'webhook.test' event to the target now and returns the delivery after its first attempt. */
  test(id: string): Promise<WebhookDelivery>;
}

const enc = encodeURIComponent;

/** WebhooksApi over HTTP. */
export function webhooksHttpApi(t: HttpTransport): WebhooksApi {
  return {
    list: async () => (await t.call<{ webhooks: WebhookTarget[] }>('GET', '/api/v1/webhooks')).webhooks,
    add: (input) => t.call('POST', '/api/v1/webhooks', { json: input }),
    get: (id) => t.call('GET', `/api/v1/webhooks/${enc(id)}`),
    remove: async (id) => void (await t.call('DELETE', `/api/v1/webhooks/${enc(id)}`)),
    deliveries: async (q = {}) =>
      (
        await t.call<{ deliveries: WebhookDelivery[] }>('GET', '/api/v1/webhooks/deliveries', {
          query: q as Record<string, unknown>,
        })
      ).deliveries,
    test: (id) => t.call('POST', `/api/v1/webhooks/${enc(id)}/test`, { json: {} }),
  };
}
