import type { JobKind, JobQueue } from '../../jobs/index.js';
import { meterInProcess } from './in-process-meter.js';
import type { RecordUsageInput } from './usage.schema.js';

/** Where a metered attempt's usage goes (the usage service in the wiring). */
export type UsageSink = (usage: RecordUsageInput) => Promise<unknown>;

/**
 * The job queue with every kind's handler metered: each attempt, on whichever worker runs it, records
 * its wall time, CPU time and memory against the job, and against the run its result names (a sweep
 * trial's `runId`), so trials and pipeline steps are priced with their runs. Recording never fails an
 * attempt: a lost record costs a report line, a failed job would cost the work.
 */
export function meterJobs(
  jobs: JobQueue,
  sink: UsageSink,
  options: { skip?: (kind: JobKind) => boolean; onError?: (err: unknown) => void } = {},
): JobQueue {
  return {
    ...jobs,
    define(kind) {
      if (options.skip?.(kind as unknown as JobKind)) return jobs.define(kind);
      const handler = kind.handler;
      return jobs.define({
        ...kind,
        handler: async (payload, ctx) => {
          const meter = meterInProcess('job');
          let result: unknown;
          try {
            result = await handler(payload, ctx);
            return result;
          } finally {
            const runId = runIdOf(result);
            await sink(meter.stop({ jobId: ctx.jobId, ...(runId ? { runId } : {}) })).catch(
              options.onError ?? (() => {}),
            );
          }
        },
      });
    },
  };
}

function runIdOf(result: unknown): string | undefined {
  if (result && typeof result === 'object' && 'runId' in result) {
    const id = (result as { runId: unknown }).runId;
    if (typeof id === 'string' && id.length > 0) return id;
  }
  return undefined;
}
