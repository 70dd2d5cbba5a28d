import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeEachBackend } from '../../test/support/backends.js';
import { redisUrl, serviceAvailable } from '../../test/support/services.js';
import { createAuditLog } from '../audit/index.js';
import { systemClock } from '../core/clock.js';
import { isAppError } from '../core/errors.js';
import type { Store } from '../store/index.js';
import { createBullmqJobQueue } from './bullmq-queue.js';
import { createInProcessJobQueue } from './in-process-queue.js';
import { runJobQueueContract, settled } from './job-queue.contract.js';

const redisUp = await serviceAvailable('redis', redisUrl, 6379);

function queueOn(store: Store, url: string, prefix: string) {
  const audit = createAuditLog({
    db: store.db,
    dialect: store.dialect,
    clock: systemClock,
    key: 'k'.repeat(32),
  });
  const queue = createBullmqJobQueue(
    { db: store.db, dialect: store.dialect, audit, clock: systemClock },
    { url, prefix, lockMs: 600, stalledIntervalMs: 500, enqueueTimeoutMs: 1_000 },
  );
  return { audit, queue };
}

const newPrefix = () => `sextant-test-${randomBytes(4).toString('hex')}`;

/** A free TCP port on this machine. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A throwaway redis-server of our own, so a test can stop and restart it. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 5_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return child;
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!redisUp)('BullMQ job queue', () => {
  describeEachBackend('BullMQ job queue', (get) => {
    runJobQueueContract('bullmq', async () => {
      const prefix = newPrefix();
      const { audit, queue } = queueOn(get(), redisUrl, prefix);
      return { queue, audit, db: get().db, replica: async () => queueOn(get(), redisUrl, prefix).queue };
    });
  });

  describeEachBackend('BullMQ after an enqueuer died before dispatch', (get) => {
    it('a committed row that never reached Redis is dispatched by the next worker that starts', async () => {
      const store = get();
      const { audit } = queueOn(store, redisUrl, newPrefix());
      const name = `orphan.${randomBytes(3).toString('hex')}`;
      const kind = {
        name,
        payload: z.object({ n: z.number() }),
        handler: async ({ n }: { n: number }) => n * 2,
      };
      // The row as a dead enqueuer left it: committed and queued, with no BullMQ job.
      const writer = createInProcessJobQueue({
        db: store.db,
        dialect: store.dialect,
        audit,
        clock: systemClock,
      });
      writer.define(kind);
      const orphan = await writer.enqueue(name, { n: 21 });
      await writer.close();
      // A worker started later (its clock past any enqueue still in flight) finds and dispatches it.
      const later = { now: () => Date.now() + 10_000 };
      const queue = createBullmqJobQueue(
        { db: store.db, dialect: store.dialect, audit, clock: later },
        { url: redisUrl, prefix: newPrefix(), lockMs: 600, stalledIntervalMs: 500, enqueueTimeoutMs: 1_000 },
      );
      queue.define(kind);
      const w = queue.work();
      try {
        const done = await settled(queue, orphan.id, 20_000);
        expect(done).toMatchObject({ status: 'completed', result: 42 });
        expect(done.log).toHaveLength(1);
      } finally {
        await w.close();
        await queue.close();
      }
    });
  });

  describeEachBackend('BullMQ when Redis goes away', (get) => {
    const children: ChildProcess[] = [];
    afterAll(() => {
      for (const c of children) c.kill('SIGKILL');
    });

    it('enqueue answers 503 and writes nothing; workers resume when Redis returns', async () => {
      const port = await freePort();
      const url = `redis://127.0.0.1:${port}`;
      let server = await startRedis(port);
      children.push(server);
      const { queue } = queueOn(get(), url, newPrefix());
      const name = `outage.${randomBytes(3).toString('hex')}`;
      const ran: number[] = [];
      queue.define({
        name,
        payload: z.object({ n: z.number() }),
        handler: async ({ n }) => {
          ran.push(n);
          return null;
        },
      });
      const w = queue.work();
      try {
        const first = await queue.enqueue(name, { n: 1 });
        expect((await settled(queue, first.id)).status).toBe('completed');

        server.kill('SIGKILL');
        await new Promise((r) => server.once('exit', r));
        const err = await queue.enqueue(name, { n: 2 }).catch((e: unknown) => e);
        expect(isAppError(err) && err.code).toBe('UNAVAILABLE');
        expect(isAppError(err) && err.status).toBe(503);
        expect((await queue.list({ name })).jobs.map((j) => j.payload)).toEqual([{ n: 1 }]);

        server = await startRedis(port);
        children.push(server);
        // The producer reconnects too; the first tries may still find it reconnecting.
        let third: Awaited<ReturnType<typeof queue.enqueue>> | undefined;
        for (let i = 0; i < 50 && !third; i++)
          third = await queue.enqueue(name, { n: 3 }).catch(async () => {
            await new Promise((r) => setTimeout(r, 200));
            return undefined;
          });
        if (!third) throw new Error('enqueue never recovered');
        expect((await settled(queue, third.id, 20_000)).status).toBe('completed');
        expect(ran).toEqual([1, 3]);
      } finally {
        await w.close();
        await queue.close();
      }
    }, 60_000);

    it('with no Redis at all, enqueue fails with a clear 503 and nothing is half-written', async () => {
      const { queue } = queueOn(get(), `redis://127.0.0.1:${await freePort()}`, newPrefix());
      const name = `nowhere.${randomBytes(3).toString('hex')}`;
      queue.define({ name, payload: z.object({}), handler: async () => null });
      try {
        const err = await queue.enqueue(name, {}).catch((e: unknown) => e);
        expect(isAppError(err) && err.code).toBe('UNAVAILABLE');
        expect(isAppError(err) && err.message).toMatch(/Redis/);
        expect((await queue.list({ name })).jobs).toHaveLength(0);
      } finally {
        await queue.close();
      }
    });
  });
});
