import { z } from 'zod';

/*
 * The contracts of the jobs seam, shared by the API, the CLI, the client and the web UI. A job is
 * `queued` (waiting, delayed or waiting for its next retry), `running` (an attempt holds it),
 * then `completed`, `failed` (its last attempt failed) or `cancelled`.
 */
export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export const jobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof jobStatusSchema>;

/** How one attempt ended; `lost` is an attempt whose worker stopped heartbeating (killed, cut off). */
export const ATTEMPT_STATUSES = ['running', 'completed', 'failed', 'cancelled', 'lost'] as const;
export const attemptStatusSchema = z.enum(ATTEMPT_STATUSES);
export type AttemptStatus = z.infer<typeof attemptStatusSchema>;

/** True when nothing will happen to a job in this status any more. */
export function isFinished(status: JobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

export const jobIdSchema = z.string().regex(/^job_[0-9a-z]{26}$/, 'not a job id (job_...)');

/** A queue or tag name: what `sextant worker --queues a,b --tags gpu` accepts. */
export const laneNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'lower-case letters, digits, - and _, starting with a letter or digit',
  );

export const jobAttemptSchema = z.object({
  attempt: z.number().int(),
  workerId: z.string(),
  status: attemptStatusSchema,
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  error: z.string().nullable(),
});
export type JobAttempt = z.infer<typeof jobAttemptSchema>;

export const jobSchema = z.object({
  id: z.string(),
  name: z.string(),
  queue: z.string(),
  status: jobStatusSchema,
  payload: z.unknown(),
  priority: z.number().int(),
  tags: z.array(z.string()),
  key: z.string().nullable(),
  scheduleKey: z.string().nullable(),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  timeoutMs: z.number().int(),
  runAt: z.string(),
  progress: z.unknown().nullable(),
  result: z.unknown().nullable(),
  error: z.string().nullable(),
  committedAt: z.string().nullable(),
  cancelledBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  /** What the job's cost falls on (experimentId, runId, tags), when it has a scope. */
  scope: z.record(z.string(), z.unknown()).nullable().optional(),
  /** Why a queued job is held (an exhausted budget); null when it may run. */
  heldReason: z.string().nullable().optional(),
});
export type Job = z.infer<typeof jobSchema>;

/** A job with its attempt log, oldest attempt first. */
export const jobDetailSchema = jobSchema.extend({ log: z.array(jobAttemptSchema) });
export type JobDetail = z.infer<typeof jobDetailSchema>;

export const listJobsQuerySchema = z.strictObject({
  status: jobStatusSchema.optional(),
  name: z.string().min(1).max(200).optional(),
  queue: laneNameSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  /** The nextPageToken of the previous page. */
  pageToken: jobIdSchema.optional(),
});
export type ListJobsQuery = z.input<typeof listJobsQuerySchema>;

/** A worker as the attempt log saw it (`sextant workers ls`). */
export const workerSchema = z.object({
  id: z.string(),
  queues: z.array(z.string()),
  lastSeenAt: z.string(),
  currentJob: z.object({ id: z.string(), name: z.string() }).nullable(),
  attempts: z.number().int(),
});
export type WorkerInfo = z.infer<typeof workerSchema>;

export const jobPageSchema = z.object({ jobs: z.array(jobSchema), nextPageToken: z.string().optional() });
export type JobPage = z.infer<typeof jobPageSchema>;
