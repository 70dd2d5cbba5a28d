import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { type Job, PROBE_JOB } from '../../src/jobs/index.js';
import { settled } from '../../src/jobs/job-queue.contract.js';
import { createTestDatabase } from '../support/backends.js';
import { postgresUrl, redisUrl, serviceAvailable } from '../support/services.js';
import { startWorker, type WorkerProcess } from '../support/worker-process.js';

/*
 * Real processes: two `sextant worker` processes on one PostgreSQL (and one Redis for BullMQ), the
 * test process enqueuing and inspecting through its own workspace, as a server replica would.
 */

const pgUp = await serviceAvailable('postgres', postgresUrl, 5432);
const redisUp = pgUp && (await serviceAvailable('redis', redisUrl, 6379));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

for (const mode of ['bullmq', 'in-process'] as const) {
  const enabled = mode === 'bullmq' ? redisUp : pgUp;
  describe.skipIf(!enabled)(`two sextant worker processes on PostgreSQL (${mode})`, () => {
    let ws: Workspace;
    let drop: () => Promise<void>;
    let home: string;
    const workers: WorkerProcess[] = [];

    beforeAll(async () => {
      const db = await createTestDatabase('postgres');
      drop = db.drop;
      home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-workers-'));
      const env: Record<string, string> = {
        SEXTANT_HOME: home,
        SEXTANT_DATABASE_URL: db.url,
        SEXTANT_AUDIT_KEY: 'workers-e2e-audit-key-0123456789',
        SEXTANT_LOG_LEVEL: 'silent',
        ...(mode === 'bullmq'
          ? {
              SEXTANT_REDIS_URL: redisUrl,
              SEXTANT_REDIS_PREFIX: `sextant-e2e-${randomBytes(4).toString('hex')}`,
            }
          : {}),
      };
      ws = await openWorkspace(loadConfig(env));
      // Migrated by the workspace first, so the workers do not race to create the schema.
      workers.push(
        ...(await Promise.all([startWorker(env, { concurrency: 8 }), startWorker(env, { concurrency: 8 })])),
      );
    }, 120_000);

    afterAll(async () => {
      for (const w of workers) w.child.kill('SIGKILL');
      await ws?.close();
      await drop?.();
      fs.rmSync(home, { recursive: true, force: true });
    });

    const probesOf = async (jobId: string) =>
      (await ws.audit.list({ entityType: 'job', entityId: jobId, limit: 10 })).filter(
        (e) => e.action === 'job.probe',
      );

    it('1,000 jobs each run exactly once, spread over both workers', async () => {
      const jobs: Job[] = [];
      for (let i = 0; i < 1000; i++) jobs.push(await ws.jobs.enqueue(PROBE_JOB, { note: `bulk-${i}` }));
      await until(
        async () =>
          (await ws.jobs.list({ name: PROBE_JOB, status: 'completed', limit: 1000 })).jobs.length >= 1000,
        120_000,
        '1,000 completed jobs',
      );
      const entries = await ws.audit.list({ entityType: 'job', limit: 5000 });
      const probes = entries.filter((e) => e.action === 'job.probe');
      expect(probes).toHaveLength(1000);
      expect(new Set(probes.map((e) => e.entityId)).size).toBe(1000);
      const pids = new Set<string>();
      for (const j of jobs.filter((_, i) => i % 10 === 0)) {
        const d = await ws.jobs.get(j.id);
        expect(d.attempts).toBe(1);
        expect(d.log).toHaveLength(1);
        pids.add(d.log[0]?.workerId.split(':')[1] ?? '');
      }
      expect([...pids].sort()).toEqual(workers.map((w) => String(w.pid)).sort());
    }, 180_000);

    it('a cron schedule registered by two replicas fires exactly once per tick although both workers work it', async () => {
      const key = `e2e-every-second-${mode}`;
      // Two server replicas start and each registers the schedule (six fields: every second).
      const replica = await openWorkspace(ws.config);
      await Promise.all(
        [ws, replica].map((w) => w.jobs.repeat(PROBE_JOB, { note: 'cron' }, { cron: '* * * * * *', key })),
      );
      await replica.close();
      const t0 = Date.now();
      await sleep(5_000);
      await ws.jobs.unrepeat(key);
      const elapsed = Date.now() - t0;
      await sleep(1_500);
      const ticks = (await ws.jobs.list({ name: PROBE_JOB, limit: 1000 })).jobs.filter(
        (j) => j.scheduleKey === key,
      );
      expect(ticks.length).toBeGreaterThanOrEqual(3);
      expect(ticks.length).toBeLessThanOrEqual(Math.ceil(elapsed / 1000) + 1);
      expect(new Set(ticks.map((j) => j.key)).size).toBe(ticks.length);
      for (const j of ticks) {
        const done = await settled(ws.jobs, j.id, 20_000);
        expect(done.status).toBe('completed');
        expect(await probesOf(j.id)).toHaveLength(1);
      }
    }, 60_000);

    it('kill -9 of a worker mid-job: the job completes on the other worker, its effects committed once', async () => {
      const job = await ws.jobs.enqueue(PROBE_JOB, { sleepMs: 3_000, note: 'killed' });
      let holder: WorkerProcess | undefined;
      await until(
        async () => {
          const d = await ws.jobs.get(job.id);
          const pid = d.log[0]?.workerId.split(':')[1];
          holder = workers.find((w) => String(w.pid) === pid);
          return d.status === 'running' && holder !== undefined;
        },
        30_000,
        'the job to start',
      );
      if (!holder) throw new Error('no holder');
      holder.child.kill('SIGKILL');
      const survivor = workers.find((w) => w !== holder);
      const done = await settled(ws.jobs, job.id, 60_000);
      expect(done.status).toBe('completed');
      expect(done.log.map((a) => [a.workerId.split(':')[1], a.status])).toEqual([
        [String(holder.pid), 'lost'],
        [String(survivor?.pid), 'completed'],
      ]);
      expect(await probesOf(job.id)).toHaveLength(1);
    }, 90_000);
  });
}
