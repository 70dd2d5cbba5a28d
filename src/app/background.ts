import { z } from 'zod';
import type { AuditLog, PredictionSealer } from '../audit/index.js';
import type { Clock } from '../core/clock.js';
import { BUDGETS_CHECK_EVERY_MS, BUDGETS_CHECK_JOB } from '../cost/budgets/index.js';
import {
  DEPLOYMENT_METER_EVERY_MS,
  DEPLOYMENT_METER_JOB,
  STORAGE_METER_EVERY_MS,
  STORAGE_METER_JOB,
} from '../cost/index.js';
import { type EventBus, pruneSettledEvents } from '../events/index.js';
import { defineJob, type JobQueue, pruneFinishedJobs, type WorkerHandle } from '../jobs/index.js';
import { MONITORING_SCHEDULE_EVERY_MS, MONITORING_SCHEDULE_JOB } from '../monitoring/index.js';
import { TRIGGERS_TICK_EVERY_MS, TRIGGERS_TICK_JOB } from '../pipelines/triggers/index.js';
import { type Db, inTransaction } from '../store/index.js';

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

export const PRUNE_JOB = 'system.prune';
/** Retention is enforced hourly: a day's rows go in one pass, and no pass has much to do. */
export const PRUNE_EVERY_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * `system.prune`: deletes finished jobs (with their attempts) and settled events (with their deliveries)
 * older than the retention (SEXTANT_RETENTION_DAYS). Without it the `events.deliver` schedule alone adds
 * a job row every 15 s for ever. A pass that deleted anything leaves one audit entry with the counts.
 */
export function pruneJob(deps: { db: Db; clock: Clock; audit: AuditLog; retentionDays: number }) {
  return defineJob({
    name: PRUNE_JOB,
    payload: z.strictObject({}),
    queue: SYSTEM_QUEUE,
    attempts: 1,
    timeoutMs: 600_000,
    handler: async (_payload, ctx) => {
      const before = deps.clock.now() - deps.retentionDays * DAY_MS;
      const jobs = await pruneFinishedJobs(deps.db, before);
      const events = await pruneSettledEvents(deps.db, before);
      if (jobs + events > 0)
        await inTransaction(deps.db, (tx) =>
          deps.audit.append(tx, {
            actor: 'system',
            action: 'system.pruned',
            entityType: 'job',
            entityId: ctx.jobId,
            details: {
              jobs,
              events,
              before: new Date(before).toISOString(),
              retentionDays: deps.retentionDays,
            },
          }),
        );
      return { jobs, events };
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
  await jobs.repeat(PRUNE_JOB, {}, { everyMs: PRUNE_EVERY_MS, key: PRUNE_JOB });
  await jobs.repeat(BUDGETS_CHECK_JOB, {}, { everyMs: BUDGETS_CHECK_EVERY_MS, key: BUDGETS_CHECK_JOB });
  await jobs.repeat(
    PREDICTIONS_SEAL_JOB,
    {},
    { everyMs: PREDICTIONS_SEAL_EVERY_MS, key: PREDICTIONS_SEAL_JOB },
  );
  await jobs.repeat(TRIGGERS_TICK_JOB, {}, { everyMs: TRIGGERS_TICK_EVERY_MS, key: TRIGGERS_TICK_JOB });
  await jobs.repeat(
    DEPLOYMENT_METER_JOB,
    {},
    { everyMs: DEPLOYMENT_METER_EVERY_MS, key: DEPLOYMENT_METER_JOB },
  );
  await jobs.repeat(STORAGE_METER_JOB, {}, { everyMs: STORAGE_METER_EVERY_MS, key: STORAGE_METER_JOB });
  // Monitors: each pass enqueues the runs whose windows closed (keyed by monitor and window end).
  await jobs.repeat(
    MONITORING_SCHEDULE_JOB,
    {},
    { everyMs: MONITORING_SCHEDULE_EVERY_MS, key: MONITORING_SCHEDULE_JOB },
  );
}

/** Schedules the platform's repeatable jobs and works the system queue in this process (servers do). */
export async function startBackgroundWork(jobs: JobQueue): Promise<WorkerHandle> {
  await scheduleBackgroundJobs(jobs);
  return jobs.work({ queues: [SYSTEM_QUEUE], concurrency: 1 });
}
