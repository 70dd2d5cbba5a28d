import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../core/clock.js';
import type { Db, Dialect } from '../store/index.js';
import type { JobAdmission } from './admission.js';
import { createBullmqJobQueue } from './bullmq-queue.js';
import { createInProcessJobQueue } from './in-process-queue.js';
import type { JobQueue } from './job-queue.js';
import { probeJob } from './probe-job.js';

export interface JobQueueConfig {
  /** Set: BullMQ on this Redis. Unset: the in-process queue on the database. */
  redisUrl?: string | undefined;
  /** Redis key prefix (default 'sextant'). */
  redisPrefix?: string;
  /** How long a claim holds without a heartbeat (default 30 s). */
  leaseMs?: number;
  /** How long a held job waits before admission looks at it again (default 15 s). */
  holdRecheckMs?: number;
}

/** The job queue a configuration names; it knows the built-in `jobs.probe` kind. */
export function createJobQueue(
  deps: { db: Db; dialect: Dialect; audit: AuditLog; clock: Clock; admission?: JobAdmission },
  config: JobQueueConfig = {},
): JobQueue {
  const queue = config.redisUrl
    ? createBullmqJobQueue(deps, {
        url: config.redisUrl,
        ...(config.redisPrefix ? { prefix: config.redisPrefix } : {}),
        ...(config.leaseMs ? { lockMs: config.leaseMs, stalledIntervalMs: config.leaseMs } : {}),
        ...(config.holdRecheckMs ? { holdRecheckMs: config.holdRecheckMs } : {}),
      })
    : createInProcessJobQueue(deps, {
        ...(config.leaseMs ? { leaseMs: config.leaseMs } : {}),
        ...(config.holdRecheckMs ? { holdRecheckMs: config.holdRecheckMs } : {}),
      });
  queue.define(probeJob(deps.audit));
  return queue;
}
