import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../src/audit/index.js';
import { systemClock } from '../../src/core/clock.js';
import { createEventCatalogue } from '../../src/events/index.js';
import { createWebhookService } from '../../src/events/webhooks/index.js';
import { inTransaction, openStore, type Store } from '../../src/store/index.js';
import { type BackendName, createTestDatabase } from '../support/backends.js';
import { startReceiver } from '../support/http-receiver.js';
import { postgresUrl, serviceAvailable } from '../support/services.js';
import { AUDIT_KEY, orderPlaced, replicaBus, SUBSCRIBERS } from './fixtures/replica-events.js';

/** Starts a replica process; resolves once it has opened the database and built its bus. */
function startReplica(
  url: string,
): Promise<{ child: ChildProcessWithoutNullStreams; done: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/e2e/fixtures/events-replica.ts', url], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let ready = false;
    const done = new Promise<string>((res, rej) => {
      child.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`replica exited ${code}: ${out}`))));
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!ready && out.includes('ready\n')) {
        ready = true;
        resolve({ child, done });
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    done.catch(reject);
  });
}

const pgAvailable = serviceAvailable('postgres', postgresUrl, 5432);

for (const backend of ['sqlite', 'postgres'] as BackendName[]) {
  describe(`events across two server processes [${backend}]`, async () => {
    if (backend === 'postgres' && !(await pgAvailable)) {
      it.skip('postgres unavailable', () => {});
      return;
    }
    let db: Awaited<ReturnType<typeof createTestDatabase>>;
    let store: Store;
    beforeAll(async () => {
      db = await createTestDatabase(backend);
      store = await openStore(db.url);
    });
    afterAll(async () => {
      await store?.close();
      await db?.drop();
    });

    it('each committed event reaches each subscriber and each webhook once although both processes deliver', async () => {
      const n = 40;
      const rx = await startReceiver(() => 204, { delayMs: 5 });
      const audit = createAuditLog({
        db: store.db,
        dialect: store.dialect,
        clock: systemClock,
        key: AUDIT_KEY,
      });
      const targets = createWebhookService({
        db: store.db,
        audit,
        clock: systemClock,
        catalogue: createEventCatalogue([orderPlaced]),
        allow: ['127.0.0.1'],
        // The key every replica seals and opens webhook secrets with (test/support/events.ts's).
        secretKey: AUDIT_KEY,
      });
      await targets.add({ actor: 'ops', url: `${rx.url}/orders`, events: [orderPlaced.type] });
      await targets.close(0);
      const emitter = replicaBus(store);
      await emitter.close(0); // this process only emits
      const ids = await inTransaction(store.db, async (tx) => {
        const out: string[] = [];
        for (let i = 0; i < n; i++) out.push((await emitter.emit(tx, orderPlaced.type, { n: i })).event.id);
        return out;
      });
      // And one that rolls back: no process may deliver it.
      await expect(
        inTransaction(store.db, async (tx) => {
          await emitter.emit(tx, orderPlaced.type, { n: -1 });
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');

      const replicas = await Promise.all([startReplica(db.url), startReplica(db.url)]);
      for (const r of replicas) r.child.stdin.end('go\n');
      const reports = (await Promise.all(replicas.map((r) => r.done))).map(
        (out) => JSON.parse(out.trim().split('\n').at(-1)!) as { handled: string[]; sent: number },
      );
      const all = reports.flatMap((r) => r.handled);
      const expected = SUBSCRIBERS.flatMap((s) => ids.map((id) => `${s}/${id}`));
      expect([...all].sort()).toEqual([...expected].sort());
      // On PostgreSQL both processes take part (row locks, no global writer lock), so the race is a
      // real one. On SQLite one process may starve the other: a writer waiting on the file lock sleeps
      // in its busy handler while the holder commits and takes the lock again. Either way, once each.
      if (backend === 'postgres') {
        expect(reports[0]!.handled.length).toBeGreaterThan(0);
        expect(reports[1]!.handled.length).toBeGreaterThan(0);
      }
      // The webhook target got each event once (one delivery id per event, no repeats).
      await rx.close();
      expect(reports[0]!.sent + reports[1]!.sent).toBe(n);
      const bodies = rx.got.map((r) => JSON.parse(r.body) as { id: string });
      expect(bodies.map((b) => b.id).sort()).toEqual([...ids].sort());
      expect(new Set(rx.got.map((r) => r.headers['x-sextant-delivery'])).size).toBe(n);
      // The effects committed once each: one audit entry per (subscriber, event), and the chain holds.
      const entries = await store.db
        .selectFrom('audit_entries')
        .select(['actor', 'entity_id'])
        .where('action', '=', 'test.handled')
        .execute();
      expect(entries.map((e) => `${e.actor}/${e.entity_id}`).sort()).toEqual([...expected].sort());
      expect((await audit.verify()).ok).toBe(true);
      const deliveries = await emitter.deliveries({ limit: 1000 });
      expect(deliveries).toHaveLength(2 * n);
      expect(deliveries.every((d) => d.state === 'done' && d.attempts === 1)).toBe(true);
    }, 120_000);
  });
}
