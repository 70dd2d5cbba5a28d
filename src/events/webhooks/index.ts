/** Webhooks: targets, the transactional outbox (emit), signed and retried deliveries, the delivery log. */

/** Why an address may not be reached by a webhook ('loopback', 'private', ...), or undefined. */
export { blockedCategory } from './address-guard.js';
export * from './webhook.schema.js';
export { createWebhookService, type WebhookDeps, type WebhookService } from './webhook.service.js';
/** Delivery tuning: attempts, backoff, timeouts, lease. */
export {
  type AttemptOutcome,
  backoffMs,
  DEFAULT_DELIVERY_OPTIONS,
  type DeliveryOptions,
} from './webhook-deliverer.js';
/** Name resolution used for deliveries (tests pass their own). */
export type { Resolver } from './webhook-sender.js';
/** Signing: header names, signWebhook and verifyWebhookSignature (what a receiver runs). */
export {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from './webhook-signature.js';
