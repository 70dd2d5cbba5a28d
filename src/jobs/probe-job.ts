import { z } from 'zod';
import type { AuditLog } from '../audit/index.js';
import { defineJob } from './job-kind.js';

export const PROBE_JOB = 'jobs.probe';

export const probePayloadSchema = z.strictObject({
  /** How long the probe works before it commits (it stops early when aborted). */
  sleepMs: z.number().int().min(0).max(3_600_000).default(0),
  note: z.string().max(200).optional(),
});

/**
 * `jobs.probe`: proves the worker fleet end to end. It waits sleepMs, then commits one audit entry
 * ('job.probe' on the job) through ctx.commit, so a probe that ran twice after a worker was killed
 * still leaves exactly one entry.
 */
export function probeJob(audit: AuditLog) {
  return defineJob({
    name: PROBE_JOB,
    payload: probePayloadSchema,
    queue: 'default',
    handler: async ({ sleepMs, note }, ctx) => {
      const started = Date.now();
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, sleepMs);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(ctx.signal.reason);
        });
      });
      if (!ctx.committed)
        await ctx.commit((tx) =>
          audit.append(tx, {
            actor: 'worker',
            action: 'job.probe',
            entityType: 'job',
            entityId: ctx.jobId,
            details: { attempt: ctx.attempt, ...(note ? { note } : {}) },
          }),
        );
      return { attempt: ctx.attempt, workedMs: Date.now() - started };
    },
  });
}
