/*
 * The jobs seam: background work that runs once across any number of processes. In-process on the
 * database by default; BullMQ on Redis when SEXTANT_REDIS_URL is set. Every job and attempt is a
 * database row on both (`sextant jobs ls|show|cancel`, /api/v1/jobs).
 */

/** The admission seam: budgets (or anything above jobs) refuse new jobs and hold queued ones through it. */
export {
  type AdmissionRequest,
  admitAll,
  HOLD_RECHECK_MS,
  type HoldCheck,
  type JobAdmission,
  type JobScope,
  jobScopeSchema,
} from './admission.js';
/** The BullMQ queue on Redis; the database mirrors every job and attempt. */
export { type BullmqQueueOptions, createBullmqJobQueue } from './bullmq-queue.js';
/** Builds the queue a configuration names (BullMQ when redisUrl is set, else in-process). */
export { createJobQueue, type JobQueueConfig } from './create-job-queue.js';
/** The in-process queue on the database (claims with leases; the laptop default). */
export { createInProcessJobQueue, type InProcessQueueOptions } from './in-process-queue.js';
export * from './job.schema.js';
export type { JobContext, JobHandler, JobKind } from './job-kind.js';
/** Declares a job kind with its payload type inferred from its zod schema. */
export { defineJob } from './job-kind.js';
export type {
  AttemptEvent,
  EnqueueOptions,
  JobQueue,
  PreparedJob,
  QueueDepth,
  RepeatOptions,
  WorkerHandle,
  WorkerLoad,
  WorkOptions,
} from './job-queue.js';
/** The built-in probe job that proves workers end to end (one audit entry per probe, committed once). */
export { PROBE_JOB, probeJob, probePayloadSchema } from './probe-job.js';
/** Retention: deletes finished jobs and their attempts older than a cut-off (the `system.prune` job). */
export { pruneFinishedJobs } from './prune.js';
/** Cron (UTC) or period cadences: parse one, and the first tick after a time (shared by triggers). */
export { type Cadence, nextTick, parseCadence } from './schedule.js';
