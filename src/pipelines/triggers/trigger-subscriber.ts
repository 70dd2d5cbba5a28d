import type { EventRecord, Subscriber } from '../../events/index.js';
import type { Db } from '../../store/index.js';
import * as repo from './trigger.repo.js';
import type { Firer } from './trigger-firing.js';
import { specOf } from './trigger-view.js';

/** The subscriber's name: stored with each delivery, half of its idempotency key. */
export const TRIGGER_SUBSCRIBER = 'pipelines.triggers';

/**
 * Event types a trigger may name: the monitoring and pipeline events a retrain follows from. The
 * wiring keeps those the catalogue knows (a domain not landed yet declares none), and subscribes once.
 */
export const TRIGGERABLE_EVENT_TYPES = [
  'alert.fired',
  'model.retrain_requested',
  'pipeline.run.finished',
  'model_version.created',
  'alias.moved',
] as const;

function matches(where: Record<string, unknown> | undefined, payload: unknown): boolean {
  if (!where) return true;
  if (payload === null || typeof payload !== 'object') return false;
  return Object.entries(where).every(([k, v]) => (payload as Record<string, unknown>)[k] === v);
}

/**
 * The event subscriber of triggers. Not atomic: starting a run makes its own transactions. A delivery
 * retried after a crash fires with the same key (`event:<type>:<event key or id>`), which the firings
 * table refuses, so the same event delivered twice starts one run.
 */
export function triggerSubscriber(deps: { db: Db; firer: Firer; types: readonly string[] }): Subscriber {
  return {
    name: TRIGGER_SUBSCRIBER,
    types: deps.types,
    atomic: false,
    async handle(event: EventRecord) {
      for (const trigger of await repo.listLiveTriggers({ tx: deps.db, kind: 'event' })) {
        const on = specOf(trigger).on;
        if (!('event' in on) || !on.event.types.includes(event.type)) continue;
        if (!matches(on.event.where, event.payload)) continue;
        await deps.firer.fire(trigger, {
          key: `event:${event.type}:${event.key ?? event.id}`,
          kind: 'event',
          event: { ...(event.payload as Record<string, unknown>), type: event.type, eventId: event.id },
          actor: trigger.created_by,
        });
      }
    },
  };
}
