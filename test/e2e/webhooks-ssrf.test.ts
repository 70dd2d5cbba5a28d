import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventDefinitions } from '../../src/app/index.js';
import { createAuditLog } from '../../src/audit/index.js';
import { type Clock, fakeClock, systemClock } from '../../src/core/clock.js';
import { createEventCatalogue } from '../../src/events/index.js';
import { createWebhookService, type Resolver } from '../../src/events/webhooks/index.js';
import * as repo from '../../src/events/webhooks/webhook.repo.js';
import { inTransaction, openStore, type Store } from '../../src/store/index.js';
import { describeEachBackend } from '../support/backends.js';
import { type Received, startReceiver } from '../support/http-receiver.js';

const AUDIT_KEY = 'test-audit-key-0123456789';
const catalogue = createEventCatalogue(eventDefinitions);

const delivery = (r: Received) => String(r.headers['x-sextant-delivery']);

function service(store: Store, o: { allow?: string[]; resolve?: Resolver; clock?: Clock; batch?: number }) {
  const clock = o.clock ?? systemClock;
  return createWebhookService({
    db: store.db,
    catalogue,
    audit: createAuditLog({ db: store.db, dialect: store.dialect, clock, key: AUDIT_KEY }),
    secretKey: AUDIT_KEY,
    clock,
    ...(o.allow ? { allow: o.allow } : {}),
    ...(o.resolve ? { resolve: o.resolve } : {}),
    delivery: { baseDelayMs: 10, requestTimeoutMs: 3000, ...(o.batch ? { batch: o.batch } : {}) },
  });
}

/** Test DNS: fixed answers per name, everything else fails as an unknown host would. */
function fakeDns(answers: Record<string, () => string[]>): Resolver {
  return async (host) => {
    const a = answers[host];
    if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return a().map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

describeEachBackend('webhooks: refused destinations (SSRF)', (getStore) => {
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    rx = await startReceiver((_n, { path }) => {
      const self = `http://127.0.0.1:${rx.port}`;
      if (path === '/to-loopback') return `${self}/landed-loopback`;
      if (path === '/to-metadata') return 'http://169.254.169.254/latest/meta-data/iam/';
      if (path === '/to-ipv6-loopback') return `http://[::1]:${rx.port}/landed-v6`;
      if (path === '/to-allowed-host') return `http://hooks.test:${rx.port}/landed-allowed`;
      if (path === '/to-private-name') return `http://intranet.test:${rx.port}/landed-private`;
      if (path === '/to-ftp') return 'ftp://files.example.com/x';
      if (path === '/loop') return `http://hooks.test:${rx.port}/loop`;
      return 200;
    });
  });
  afterAll(() => rx.close());

  it('a redirect to loopback, cloud metadata or a private name is refused; one to an allowed host is followed', async () => {
    // hooks.test is allow-listed by name; the receiver's own address (127.0.0.1) is not.
    const svc = service(getStore(), {
      allow: ['hooks.test'],
      resolve: fakeDns({ 'hooks.test': () => ['127.0.0.1'], 'intranet.test': () => ['10.1.2.3'] }),
    });
    try {
      const send = async (path: string) => {
        const { target } = await svc.add({
          actor: 'alice',
          url: `http://hooks.test:${rx.port}${path}`,
          events: ['alias.moved'],
        });
        return svc.test({ actor: 'alice', id: target.id });
      };
      const loop = await send('/to-loopback');
      expect(loop).toMatchObject({ state: 'failed', attempts: 1 });
      expect(loop.lastStatusCode).toBeUndefined();
      expect(loop.lastError).toMatch(/^refused: 127\.0\.0\.1 is a loopback address/);
      expect(loop.log[0]!.url).toBe(`http://127.0.0.1:${rx.port}/landed-loopback`);

      const meta = await send('/to-metadata');
      expect(meta.state).toBe('failed');
      expect(meta.lastError).toMatch(/^refused: 169\.254\.169\.254 is a cloud metadata address/);

      const v6 = await send('/to-ipv6-loopback');
      expect(v6.lastError).toMatch(/^refused: ::1 is a loopback address/);

      const named = await send('/to-private-name');
      expect(named.lastError).toMatch(
        /^refused: intranet\.test resolves to 10\.1\.2\.3 is a private address/,
      );

      const ftp = await send('/to-ftp');
      expect(ftp).toMatchObject({ state: 'failed', lastStatusCode: 302 });
      expect(ftp.lastError).toMatch(/refused: redirect to ftp: URL/);

      // Positive control: the same redirect mechanism to an allowed destination is followed.
      const ok = await send('/to-allowed-host');
      expect(ok).toMatchObject({ state: 'delivered', lastStatusCode: 200 });
      expect(ok.log[0]!.url).toBe(`http://hooks.test:${rx.port}/landed-allowed`);

      // Redirects are followed only a few times; that failure is not permanent (retried later).
      const loops = await send('/loop');
      expect(loops).toMatchObject({ state: 'pending', lastStatusCode: 302 });
      expect(loops.lastError).toBe('more than 3 redirects');

      const landed = rx.got.map((h) => h.path).filter((p) => p.startsWith('/landed'));
      expect(landed).toEqual(['/landed-allowed']);
      expect(rx.got.filter((h) => h.path === '/loop')).toHaveLength(4);
    } finally {
      await svc.close(0);
    }
  });

  it('a name that resolved to a public address at add time but to loopback at send time is refused at connect time', async () => {
    let calls = 0;
    // DNS rebinding: the first answer (checked by `add`) is public, later ones point inside.
    const rebinding = () => (++calls === 1 ? ['93.184.216.34'] : ['127.0.0.1']);
    const svc = service(getStore(), { resolve: fakeDns({ 'rebind.test': rebinding }) });
    try {
      const { target } = await svc.add({
        actor: 'alice',
        url: `http://rebind.test:${rx.port}/rebind`,
        events: ['alias.moved'],
      });
      const before = rx.got.length;
      const d = await svc.test({ actor: 'alice', id: target.id });
      expect(calls).toBe(2);
      expect(d).toMatchObject({ state: 'failed', attempts: 1 });
      expect(d.lastError).toMatch(/^refused: rebind\.test resolves to 127\.0\.0\.1 is a loopback address/);
      expect(rx.got.slice(before)).toEqual([]);

      // An emitted event meets the same check, and a refusal is final (no retries scheduled).
      await inTransaction(getStore().db, (tx) => svc.emit(tx, { type: 'alias.moved', payload: {} }));
      await svc.flush();
      const [emitted] = (await svc.deliveries({ target: target.id })).filter(
        (x) => x.eventType === 'alias.moved',
      );
      expect(emitted).toMatchObject({ state: 'failed', attempts: 1 });
      expect(emitted!.nextAttemptAt).toBeUndefined();
      expect(rx.got.slice(before)).toEqual([]);
    } finally {
      await svc.close(0);
    }
    // Positive control: allow-listing the address lets the very same rebinding name through.
    let calls2 = 0;
    const allowed = service(getStore(), {
      allow: ['127.0.0.1'],
      resolve: fakeDns({ 'rebind.test': () => (++calls2 === 1 ? ['93.184.216.34'] : ['127.0.0.1']) }),
    });
    try {
      const { target } = await allowed.add({
        actor: 'alice',
        url: `http://rebind.test:${rx.port}/rebind-ok`,
        events: ['alias.moved'],
      });
      expect(await allowed.test({ actor: 'alice', id: target.id })).toMatchObject({ state: 'delivered' });
      expect(rx.got.at(-1)?.path).toBe('/rebind-ok');
    } finally {
      await allowed.close(0);
    }
  });

  it('every address a name resolves to is checked, at add time with a clear error', async () => {
    const svc = service(getStore(), {
      resolve: fakeDns({
        'mixed.test': () => ['93.184.216.34', '10.0.0.7'],
        'meta.test': () => ['fd00:ec2::254'],
      }),
    });
    try {
      await expect(svc.add({ actor: 'a', url: 'https://mixed.test/hook' })).rejects.toThrow(
        "url: refused, 'mixed.test' resolves to 10.0.0.7 is a private address (allow it with SEXTANT_WEBHOOK_ALLOW)",
      );
      await expect(svc.add({ actor: 'a', url: 'https://meta.test/hook' })).rejects.toThrow(/cloud metadata/);
      await expect(svc.add({ actor: 'a', url: 'http://0.0.0.0:80/' })).rejects.toThrow(/unspecified/);
      await expect(svc.add({ actor: 'a', url: 'http://[::ffff:127.0.0.1]/' })).rejects.toThrow(/loopback/);
    } finally {
      await svc.close(0);
    }
  });
});

describeEachBackend('webhooks: concurrent deliverers', (getStore) => {
  let second: Store;
  beforeAll(async () => {
    // A second connection (pool) to the same database, as a second server replica has.
    second = await openStore(getStore().url, { migrate: false });
  });
  afterAll(() => second.close());

  it('two deliverers racing over the same due deliveries send each exactly once', async () => {
    const rx = await startReceiver(() => 200, { delayMs: 15 });
    const resolve = fakeDns({ 'hooks.test': () => ['127.0.0.1'] });
    const emitter = service(getStore(), { allow: ['hooks.test'], resolve });
    const a = service(getStore(), { allow: ['hooks.test'], resolve, batch: 4 });
    const b = service(second, { allow: ['hooks.test'], resolve, batch: 4 });
    try {
      const { target } = await emitter.add({
        actor: 'a',
        url: `http://hooks.test:${rx.port}/race`,
        events: ['model_version.created'],
      });
      await emitter.close(0); // only a and b send
      const n = 24;
      await inTransaction(getStore().db, async (tx) => {
        for (let i = 0; i < n; i++) await emitter.emit(tx, { type: 'model_version.created', payload: { i } });
      });
      const drain = async (svc: typeof a) => {
        let sent = 0;
        for (let idle = 0; idle < 3; ) {
          const got = await svc.deliverDue();
          sent += got.length;
          idle = got.length ? 0 : idle + 1;
        }
        return sent;
      };
      const [byA, byB] = await Promise.all([drain(a), drain(b)]);
      expect(byA + byB).toBe(n);
      // Both took part (batches of 4, a slow receiver): the race above was a real one.
      expect(byA).toBeGreaterThan(0);
      expect(byB).toBeGreaterThan(0);
      const perDelivery = new Map<string, number>();
      for (const h of rx.got) perDelivery.set(delivery(h), (perDelivery.get(delivery(h)) ?? 0) + 1);
      expect(perDelivery.size).toBe(n);
      expect([...perDelivery.values()].every((c) => c === 1)).toBe(true);
      // Head to head: both claim the one due delivery at the same moment; exactly one gets it.
      for (let round = 0; round < 8; round++) {
        await inTransaction(getStore().db, (tx) =>
          emitter.emit(tx, { type: 'model_version.created', payload: { round } }),
        );
        const [ra, rb] = await Promise.all([a.deliverDue(), b.deliverDue()]);
        expect(ra.length + rb.length, `round ${round}`).toBe(1);
      }
      expect(rx.got).toHaveLength(n + 8);
      expect(new Set(rx.got.map(delivery)).size).toBe(n + 8);
      const log = await a.deliveries({ target: target.id, limit: 100 });
      expect(log).toHaveLength(n + 8);
      expect(log.every((d) => d.state === 'delivered' && d.attempts === 1 && d.log.length === 1)).toBe(true);
    } finally {
      await a.close(0);
      await b.close(0);
      await rx.close();
    }
  });

  it('a held lease keeps others off until it expires; the late holder cannot overwrite the result', async () => {
    const rx = await startReceiver(() => 200);
    const clock = fakeClock(Date.now());
    const resolve = fakeDns({ 'hooks.test': () => ['127.0.0.1'] });
    const svc = service(getStore(), { allow: ['hooks.test'], resolve, clock });
    try {
      const { target } = await svc.add({
        actor: 'a',
        url: `http://hooks.test:${rx.port}/lease`,
        events: ['alias.rolled_back'],
      });
      await svc.close(0);
      await inTransaction(getStore().db, (tx) => svc.emit(tx, { type: 'alias.rolled_back', payload: {} }));
      const [d] = await svc.deliveries({ target: target.id });
      // A replica claims it and "crashes" before sending.
      const now = clock.now();
      const held = await repo.claimDue({
        tx: second.db,
        owner: 'crashed:1',
        now,
        leaseUntil: now + 60_000,
        limit: 10,
        ids: [d!.id],
      });
      expect(held.map((r) => r.id)).toEqual([d!.id]);
      expect(await svc.deliverDue()).toEqual([]);
      clock.advance(59_999);
      expect(await svc.deliverDue()).toEqual([]);
      clock.advance(2);
      expect(await svc.deliverDue()).toMatchObject([{ deliveryId: d!.id, attempt: 1, state: 'delivered' }]);
      // The crashed holder wakes up and tries to record its own attempt: refused, the log is unchanged.
      const late = await repo.recordAttempt({
        tx: second.db,
        owner: 'crashed:1',
        attempt: {
          id: 'wha_late',
          delivery_id: d!.id,
          attempt: 1,
          at: now,
          duration_ms: 1,
          url: 'x',
          status_code: 500,
          error: 'late',
        },
        set: {
          state: 'pending',
          attempts: 1,
          next_attempt_at: now,
          last_status: 500,
          last_error: 'late',
          finished_at: null,
        },
      });
      expect(late).toBe(false);
      const [after] = await svc.deliveries({ target: target.id });
      expect(after).toMatchObject({ state: 'delivered', attempts: 1, lastStatusCode: 200 });
      expect(after!.log).toHaveLength(1);
      expect(rx.got).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });
});
