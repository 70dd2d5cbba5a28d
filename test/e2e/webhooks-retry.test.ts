import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { eventDefinitions, openWorkspace } from '../../src/app/index.js';
import { createAuditLog } from '../../src/audit/index.js';
import { fakeClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import { createEventCatalogue } from '../../src/events/index.js';
import { createWebhookService } from '../../src/events/webhooks/index.js';
import { inTransaction } from '../../src/store/index.js';
import { describeEachBackend } from '../support/backends.js';
import { startReceiver } from '../support/http-receiver.js';

const AUDIT_KEY = 'test-audit-key-0123456789';
const catalogue = createEventCatalogue(eventDefinitions);

// Its own database: targets of the other webhook suites subscribe to every event and would get these too.
describeEachBackend('webhooks: retry schedule', (getStore) => {
  it('retries after 500s with exponential backoff and jitter, then succeeds; every attempt is logged', async () => {
    const flaky = await startReceiver((n) => (n <= 2 ? 500 : 204));
    const clock = fakeClock();
    const store = getStore();
    const svc = createWebhookService({
      db: store.db,
      catalogue,
      audit: createAuditLog({ db: store.db, dialect: store.dialect, clock, key: AUDIT_KEY }),
      secretKey: AUDIT_KEY,
      clock,
      allow: ['127.0.0.1'],
      random: () => 0.5,
      delivery: { baseDelayMs: 1000, maxAttempts: 5 },
    });
    try {
      const { target } = await svc.add({
        actor: 'alice',
        url: `${flaky.url}/flaky`,
        events: ['alias.rolled_back'],
      });
      // Emitted by a closed service so that only the explicit passes below send.
      await svc.close(0);
      await inTransaction(store.db, (tx) => svc.emit(tx, { type: 'alias.rolled_back', payload: { n: 1 } }));
      const start = clock.now();

      expect(await svc.deliverDue()).toMatchObject([{ attempt: 1, state: 'pending', statusCode: 500 }]);
      let [d] = await svc.deliveries({ target: target.id });
      // Equal jitter with random()=0.5: 1000/2 + 0.5*1000/2 = 750 ms after the first failure.
      expect(Date.parse(d!.nextAttemptAt!)).toBe(start + 750);
      expect(await svc.deliverDue()).toEqual([]); // not due yet
      clock.advance(749);
      expect(await svc.deliverDue()).toEqual([]);
      clock.advance(1);
      expect(await svc.deliverDue()).toMatchObject([{ attempt: 2, state: 'pending', statusCode: 500 }]);
      [d] = await svc.deliveries({ target: target.id });
      // The delay doubles: 2000/2 + 0.5*2000/2 = 1500 ms.
      expect(Date.parse(d!.nextAttemptAt!)).toBe(clock.now() + 1500);
      clock.advance(1500);
      expect(await svc.deliverDue()).toMatchObject([{ attempt: 3, state: 'delivered', statusCode: 204 }]);
      [d] = await svc.deliveries({ target: target.id });
      expect(d).toMatchObject({ state: 'delivered', attempts: 3, lastStatusCode: 204 });
      expect(d!.lastError).toBeUndefined();
      expect(d!.log.map((a) => [a.attempt, a.statusCode, a.error])).toEqual([
        [1, 500, 'HTTP 500'],
        [2, 500, 'HTTP 500'],
        [3, 204, undefined],
      ]);
      // The receiver saw the same delivery id and the same body three times.
      const seen = flaky.got.filter((r) => r.path === '/flaky');
      expect(seen).toHaveLength(3);
      expect(new Set(seen.map((r) => r.headers['x-sextant-delivery'])).size).toBe(1);
      expect(new Set(seen.map((r) => r.body)).size).toBe(1);
    } finally {
      await flaky.close();
    }
  });

  it('gives up after the last attempt: the delivery is failed and no retry is scheduled', async () => {
    const down = await startReceiver(() => 503);
    const clock = fakeClock();
    const store = getStore();
    const svc = createWebhookService({
      db: store.db,
      catalogue,
      audit: createAuditLog({ db: store.db, dialect: store.dialect, clock, key: AUDIT_KEY }),
      secretKey: AUDIT_KEY,
      clock,
      allow: ['127.0.0.1'],
      delivery: { baseDelayMs: 10, maxAttempts: 3 },
    });
    try {
      const { target } = await svc.add({
        actor: 'alice',
        url: `${down.url}/down`,
        events: ['promotion_request.opened'],
      });
      await svc.close(0);
      await inTransaction(store.db, (tx) => svc.emit(tx, { type: 'promotion_request.opened', payload: {} }));
      for (let i = 0; i < 6; i++) {
        await svc.deliverDue();
        clock.advance(60_000);
      }
      const [d] = await svc.deliveries({ target: target.id });
      expect(d).toMatchObject({ state: 'failed', attempts: 3, lastStatusCode: 503, lastError: 'HTTP 503' });
      expect(d!.nextAttemptAt).toBeUndefined();
      expect(d!.log).toHaveLength(3);
      expect(down.got).toHaveLength(3);
    } finally {
      await down.close();
    }
  });

  it('pending deliveries to a removed target fail as "target removed" without a request', async () => {
    const rx = await startReceiver(() => 500);
    const clock = fakeClock();
    const store = getStore();
    const svc = createWebhookService({
      db: store.db,
      catalogue,
      audit: createAuditLog({ db: store.db, dialect: store.dialect, clock, key: AUDIT_KEY }),
      secretKey: AUDIT_KEY,
      clock,
      allow: ['127.0.0.1'],
      delivery: { baseDelayMs: 10 },
    });
    try {
      const { target } = await svc.add({
        actor: 'alice',
        url: `${rx.url}/gone`,
        events: ['promotion_request.decided'],
      });
      await svc.close(0);
      await inTransaction(store.db, (tx) => svc.emit(tx, { type: 'promotion_request.decided', payload: {} }));
      await svc.deliverDue();
      expect(rx.got).toHaveLength(1);
      await svc.remove({ actor: 'alice', id: target.id });
      clock.advance(60_000);
      expect(await svc.deliverDue()).toMatchObject([
        { attempt: 2, state: 'failed', error: 'target removed' },
      ]);
      expect(rx.got).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('while running, the retry loop sends due retries by itself (as a server does)', async () => {
    const flaky = await startReceiver((n) => (n === 1 ? 500 : 200));
    const store = getStore();
    const clock = { now: () => Date.now() };
    const svc = createWebhookService({
      db: store.db,
      catalogue,
      audit: createAuditLog({ db: store.db, dialect: store.dialect, clock, key: AUDIT_KEY }),
      secretKey: AUDIT_KEY,
      clock,
      allow: ['127.0.0.1'],
      delivery: { baseDelayMs: 40, pollMs: 20 },
    });
    try {
      const { target } = await svc.add({ actor: 'alice', url: `${flaky.url}/loop`, events: ['alias.moved'] });
      svc.start();
      await inTransaction(store.db, (tx) => svc.emit(tx, { type: 'alias.moved', payload: {} }));
      const deadline = Date.now() + 10_000;
      let d = (await svc.deliveries({ target: target.id }))[0];
      while (d?.state !== 'delivered' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
        d = (await svc.deliveries({ target: target.id }))[0];
      }
      expect(d).toMatchObject({ state: 'delivered', attempts: 2 });
      expect(d!.log.map((a) => a.statusCode)).toEqual([500, 200]);
    } finally {
      await svc.close();
      await flaky.close();
    }
  });

  it('a CLI process sends what it emitted before its workspace closes', async () => {
    const rx = await startReceiver();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-webhooks-ws-'));
    try {
      const ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home, SEXTANT_WEBHOOK_ALLOW: '127.0.0.1' }));
      await ws.webhooks.add({ actor: 'cli', url: `${rx.url}/exit` });
      await inTransaction(ws.store.db, (tx) =>
        ws.webhooks.emit(tx, { type: 'model_version.created', payload: { v: 1 } }),
      );
      await ws.close();
      expect(rx.got.map((r) => r.path)).toEqual(['/exit']);
    } finally {
      await rx.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
