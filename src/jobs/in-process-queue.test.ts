import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeEachBackend } from '../../test/support/backends.js';
import { createAuditLog } from '../audit/index.js';
import { systemClock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import { inTransaction, type Store } from '../store/index.js';
import { createInProcessJobQueue } from './in-process-queue.js';
import * as repo from './job.repo.js';
import { runJobQueueContract, settled } from './job-queue.contract.js';

const fast = { pollMs: 25, leaseMs: 600 };

function queueOn(store: Store) {
  const audit = createAuditLog({
    db: store.db,
    dialect: store.dialect,
    clock: systemClock,
    key: 'k'.repeat(32),
  });
  return {
    audit,
    queue: createInProcessJobQueue({ db: store.db, dialect: store.dialect, audit, clock: systemClock }, fast),
  };
}

describeEachBackend('in-process job queue', (get) => {
  runJobQueueContract('in-process', async () => {
    const { audit, queue } = queueOn(get());
    return { queue, audit, db: get().db, replica: async () => queueOn(get()).queue };
  });

  describe('a job whose worker died', () => {
    it('is claimed again after its lease expires, and its lost attempt is logged', async () => {
      const { queue } = queueOn(get());
      const name = `orphan.${newId('job').slice(-6)}`;
      queue.define({ name, payload: z.object({}), handler: async (_p, ctx) => ({ attempt: ctx.attempt }) });
      const job = await queue.enqueue(name, {});
      // A worker that claims the job, logs its attempt and then vanishes (no heartbeat, no finish).
      const now = Date.now();
      await inTransaction(get().db, async (tx) => {
        const [row] = await repo.claimDue({
          tx,
          dialect: get().dialect,
          owner: 'dead:1',
          now,
          leaseUntil: now + 300,
          lanes: ['default'],
          names: [name],
          limit: 1,
        });
        expect(row?.id).toBe(job.id);
        await repo.startAttempts({
          tx,
          now,
          attempts: [
            {
              id: newId('jba'),
              job_id: job.id,
              attempt: 1,
              worker_id: 'dead',
              status: 'running',
              started_at: now,
              ended_at: null,
              error: null,
            },
          ],
        });
      });
      const w = queue.work();
      const done = await settled(queue, job.id);
      await w.close();
      await queue.close();
      expect(done.status).toBe('completed');
      expect(done.result).toEqual({ attempt: 2 });
      expect(done.log.map((a) => [a.workerId, a.status])).toEqual([
        ['dead', 'lost'],
        [w.workerId, 'completed'],
      ]);
    });
  });
});
