import type { HttpTransport } from './http-transport.js';

/** The Webhooks part of SextantApi (placeholder until that work lands). */
export type WebhooksApi = Record<never, never>;

/** WebhooksApi over HTTP. */
export function webhooksHttpApi(_t: HttpTransport): WebhooksApi {
  return {};
}
