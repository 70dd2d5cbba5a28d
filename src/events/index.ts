/** Events: the transactional outbox, the open typed catalogue, subscribers (handlers, job triggers, webhooks). */

/** The bus: emit in a transaction, subscribe, deliverDue, start/flush/close, listings. */
export {
  createEventBus,
  type DeliveryPass,
  type EventBus,
  type EventBusDeps,
  type EventDeliveryView,
  type WebhookOutbox,
} from './event-bus.js';
/** Builds the set of known event types from every domain's definitions. */
export { createEventCatalogue, type EventCatalogue } from './event-catalogue.js';
/** Declares an event type with its zod schema: `defineEvent({ type, schema, description, emittedBy })`. */
export {
  defineEvent,
  type EmitOptions,
  type Emitted,
  EVENT_TYPE_PATTERN,
  type EventDefinition,
  type EventEmitter,
  type EventPayload,
  type EventRecord,
  isEvent,
} from './event-definition.js';
/** Retention: deletes settled events and their deliveries older than a cut-off (the `system.prune` job). */
export { pruneSettledEvents } from './prune.js';
/** Subscribers: in-process handlers and job triggers (jobTrigger builds one from a JobEnqueuer port). */
export { type DeliveryContext, type JobEnqueuer, jobTrigger, type Subscriber } from './subscriber.js';
/** Subscriber delivery tuning and the outcome of one attempt. */
export {
  DEFAULT_SUBSCRIBER_DELIVERY,
  type SubscriberDeliveryOptions,
  type SubscriberOutcome,
} from './subscriber-deliverer.js';
