import { z } from 'zod';
import type { PredictionSealer } from '../audit/index.js';
import type { EventBus } from '../events/index.js';
import { defineJob, type JobQueue, type WorkerHandle } from '../jobs/index.js';

/*
 * The platform's own background work, as jobs (never a timer in a service): a timer runs once per
 * process, a job once per cluster. Every process defines the kinds (in createServices); the processes
 * that run background work (`sextant server`, `sextant worker --queues system`) schedule and work them.
 */

/** The queue of the platform's own upkeep; servers work it, so a laptop needs no separate worker. */
export const SYSTEM_QUEUE = 'system';
export const EVENTS_DELIVER_JOB = 'events.deliver';
/** Retries of event and webhook deliveries are picked up this often (first attempts go right after commit). */
export const EVENTS_DELIVER_EVERY_MS = 15_000;

/** `events.deliver`: one delivery pass over due subscriber and webhook deliveries (retries, a dead replica's leases). */
export function eventsDeliverJob(events: Pick<EventBus, 'deliverDue'>) {
  return defineJob({
    name: EVENTS_DELIVER_JOB,
    payload: z.strictObject({}),
    queue: SYSTEM_QUEUE,
    // The next tick is the retry: a failed pass is not worth queueing twice.
    attempts: 1,
    timeoutMs: 120_000,
    handler: async () => {
      const pass = await events.deliverDue();
      return { subscribers: pass.subscribers.length, webhooks: pass.webhooks.length };
    },
  });
}

export const PREDICTIONS_SEAL_JOB = 'audit.seal-predictions';
/** The prediction log is sealed into the audit chain this often (rows older than the seal's grace). */
export const PREDICTIONS_SEAL_EVERY_MS = 60_000;

/** `audit.seal-predictions`: appends a seal of the predictions served since the last one (verify --deep checks them). */
export function predictionsSealJob(sealer: PredictionSealer) {
  return defineJob({
    name: PREDICTIONS_SEAL_JOB,
    payload: z.strictObject({}),
    queue: SYSTEM_QUEUE,
    attempts: 1,
    timeoutMs: 300_000,
    handler: async () => ({ sealed: await sealer.seal() }),
  });
}

/** Schedules the platform's repeatable jobs (idempotent: a schedule is keyed, so every replica may). */
export async function scheduleBackgroundJobs(jobs: JobQueue): Promise<void> {
  await jobs.repeat(EVENTS_DELIVER_JOB, {}, { everyMs: EVENTS_DELIVER_EVERY_MS, key: EVENTS_DELIVER_JOB });
  await jobs.repeat(
    PREDICTIONS_SEAL_JOB,
    {},
    { everyMs: PREDICTIONS_SEAL_EVERY_MS, key: PREDICTIONS_SEAL_JOB },
  );
}

/** Schedules the platform's repeatable jobs and works the system queue in this process (servers do). */
export async function startBackgroundWork(jobs: JobQueue): Promise<WorkerHandle> {
  await scheduleBackgroundJobs(jobs);
  return jobs.work({ queues: [SYSTEM_QUEUE], concurrency: 1 });
}
