import { expect, it } from 'vitest';
import { z } from 'zod';
import { describeEachBackend } from '../../../test/support/backends.js';
import { createAuditLog } from '../../audit/index.js';
import { systemClock } from '../../core/clock.js';
import { createInProcessJobQueue, defineJob, isFinished, type JobQueue } from '../../jobs/index.js';
import { meterJobs } from './job-meter.js';
import type { RecordUsageInput } from './usage.schema.js';

async function settle(queue: JobQueue, id: string) {
  for (let i = 0; i < 400; i++) {
    const job = await queue.get(id);
    if (isFinished(job.status)) return job;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} did not finish`);
}

describeEachBackend('metered job attempts', (get) => {
  it('every attempt records its usage against the job and the run its result names; system kinds are not metered', async () => {
    const store = get();
    const audit = createAuditLog({
      db: store.db,
      dialect: store.dialect,
      clock: systemClock,
      key: 'k'.repeat(32),
    });
    const recorded: RecordUsageInput[] = [];
    const queue = meterJobs(
      createInProcessJobQueue(
        { db: store.db, dialect: store.dialect, audit, clock: systemClock },
        { pollMs: 25, leaseMs: 600 },
      ),
      async (u) => void recorded.push(u),
      { skip: (kind) => kind.queue === 'upkeep' },
    );
    const n = Date.now();
    queue.define(
      defineJob({
        name: `metered.trial.${n}`,
        payload: z.object({ fail: z.boolean() }),
        attempts: 2,
        backoffMs: 1,
        handler: async ({ fail }, ctx) => {
          const c0 = process.cpuUsage();
          while (process.cpuUsage(c0).user < 50_000) {}
          if (fail && ctx.attempt === 1) throw new Error('first attempt fails');
          return { runId: 'run_trial' };
        },
      }),
    );
    queue.define(
      defineJob({ name: `upkeep.${n}`, queue: 'upkeep', payload: z.object({}), handler: async () => ({}) }),
    );
    const worker = queue.work({ concurrency: 1, queues: ['default', 'upkeep'] });
    try {
      const job = await queue.enqueue(`metered.trial.${n}`, { fail: true });
      const upkeep = await queue.enqueue(`upkeep.${n}`, {});
      expect((await settle(queue, job.id)).status).toBe('completed');
      expect((await settle(queue, upkeep.id)).status).toBe('completed');
    } finally {
      await worker.close();
      await queue.close();
    }
    // Two attempts of the trial, none of the upkeep job; the failed one has no run to name.
    expect(recorded).toHaveLength(2);
    expect(recorded.map((r) => r.runId)).toEqual([undefined, 'run_trial']);
    for (const r of recorded) {
      expect(r.kind).toBe('job');
      expect(r.jobId).toMatch(/^job_/);
      expect(r.cpuSeconds!).toBeGreaterThanOrEqual(0.05);
      expect(r.endedAt).toBeGreaterThanOrEqual(r.startedAt);
    }
  });
});
