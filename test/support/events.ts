import { createAuditLog } from '../../src/audit/index.js';
import { type Clock, systemClock } from '../../src/core/clock.js';
import {
  createEventBus,
  createEventCatalogue,
  type EventBus,
  type EventDefinition,
  type SubscriberDeliveryOptions,
} from '../../src/events/index.js';
import { createWebhookService } from '../../src/events/webhooks/index.js';
import type { Store } from '../../src/store/index.js';

/** An event bus on a store with the given definitions and its own webhook service. */
export function createTestEventBus(
  store: Store,
  o: {
    definitions: readonly EventDefinition[];
    clock?: Clock;
    delivery?: Partial<SubscriberDeliveryOptions>;
    random?: () => number;
    /** SEXTANT_WEBHOOK_ALLOW entries for its webhook service (default none). */
    allow?: string[];
  },
): EventBus {
  const clock = o.clock ?? systemClock;
  const catalogue = createEventCatalogue(o.definitions);
  const audit = createAuditLog({
    db: store.db,
    dialect: store.dialect,
    clock,
    key: 'test-audit-key-0123456789',
  });
  const webhooks = createWebhookService({
    db: store.db,
    audit,
    clock,
    catalogue,
    allow: o.allow ?? [],
    secretKey: 'test-audit-key-0123456789',
  });
  return createEventBus({
    db: store.db,
    clock,
    catalogue,
    webhooks,
    ...(o.delivery ? { delivery: o.delivery } : {}),
    ...(o.random ? { random: o.random } : {}),
  });
}
