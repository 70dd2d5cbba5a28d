import { z } from 'zod';
import type { AuditLog } from '../../audit/index.js';
import type { Clock } from '../../core/clock.js';
import { defineJob } from '../../jobs/index.js';
import type { Db } from '../../store/index.js';
import type { PipelineStarter } from './pipeline-starter.js';
import { createTriggerService } from './trigger.service.js';
import { createFirer } from './trigger-firing.js';
import { createTriggerPoller, type DatasetVersionFeed } from './trigger-poll.js';
import { triggerSubscriber } from './trigger-subscriber.js';

/*
 * Pipeline triggers: cron slots, new dataset versions, events and manual calls start pipelines through
 * the PipelineStarter port, once per occasion (the firings table), under a concurrency policy.
 */

/** Renders a trigger's params from what fired it (`${{ event.field }}`). */
export { renderParams } from './params-template.js';
/** The port pipelines are started through (P1's engine implements it). */
export type { PipelineRunStatus, PipelineStarter, PipelineTriggerRef } from './pipeline-starter.js';
/** Contracts of triggers and firings (API, CLI, client). */
export * from './trigger.schema.js';
/** What triggers read of the data domain; the latest cron slot in a window. */
export { type DatasetVersionFeed, latestSlot, type TickResult } from './trigger-poll.js';
/** The event types a trigger may name, and the subscriber's name. */
export { TRIGGER_SUBSCRIBER, TRIGGERABLE_EVENT_TYPES } from './trigger-subscriber.js';

export interface TriggersDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  starter: PipelineStarter;
  datasets: DatasetVersionFeed;
  /** The event types the subscriber receives (the catalogue's among TRIGGERABLE_EVENT_TYPES). */
  eventTypes: readonly string[];
}

/** The job that polls cron and dataset triggers and drains queued firings. */
export const TRIGGERS_TICK_JOB = 'triggers.tick';
/** Cron's finest slot is a minute; polling every 15 s fires within a quarter of one. */
export const TRIGGERS_TICK_EVERY_MS = 15_000;

/** Builds the triggers domain: the service, its event subscriber and its tick. */
export function createTriggersDomain(deps: TriggersDeps) {
  const firer = createFirer(deps);
  const service = createTriggerService({ ...deps, firer });
  const poller = createTriggerPoller({ ...deps, firer });
  return {
    ...service,
    /** One polling pass (cron, dataset, queue); the `triggers.tick` job runs it. */
    tick: poller.tick,
    /** The event subscriber to register on the bus (none when no triggerable type is known). */
    subscriber: deps.eventTypes.length
      ? triggerSubscriber({ db: deps.db, firer, types: deps.eventTypes })
      : undefined,
  };
}

export type TriggersDomain = ReturnType<typeof createTriggersDomain>;

/** `triggers.tick`: one polling pass; every replica may schedule it, firings are deduplicated. */
export function triggersTickJob(triggers: Pick<TriggersDomain, 'tick'>, queue: string) {
  return defineJob({
    name: TRIGGERS_TICK_JOB,
    payload: z.strictObject({}),
    queue,
    // The next tick is the retry.
    attempts: 1,
    timeoutMs: 120_000,
    handler: async () => triggers.tick(),
  });
}
