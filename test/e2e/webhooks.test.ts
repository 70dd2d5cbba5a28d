import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from '../../src/cli/program.js';
import { createHttpClient } from '../../src/client/index.js';
import {
  createdWebhookSchema,
  verifyWebhookSignature,
  webhookDeliverySchema,
} from '../../src/events/webhooks/index.js';
import { inTransaction } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { startReceiver } from '../support/http-receiver.js';
import { nativeError } from './helpers.js';

const deliveriesReply = z.object({ deliveries: z.array(webhookDeliverySchema) });

describeEachBackend('webhooks: signed deliveries, retries and the delivery log', (getStore) => {
  let t: TestApp;
  let open: TestApp;
  let rx: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    t = await createTestApp(getStore(), { SEXTANT_WEBHOOK_ALLOW: '127.0.0.1' });
    open = await createTestApp(getStore());
    rx = await startReceiver();
  });
  afterAll(async () => {
    await t.services.webhooks.close();
    await open.services.webhooks.close();
    await t.close();
    await open.close();
    await rx.close();
  });

  it('an event emitted in a committed transaction arrives signed, and the signature verifies', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      payload: { url: `${rx.url}/signed`, events: ['alias.moved'] },
    });
    expect(res.statusCode, res.body).toBe(201);
    const created = createdWebhookSchema.parse(res.json());
    expect(created.secret).toMatch(/^whsec_/);
    // The secret is shown once: listing and getting never return it.
    const listed = await t.app.inject({ method: 'GET', url: '/api/v1/webhooks' });
    expect(listed.body).toContain(created.target.id);
    expect(listed.body).not.toContain(created.secret);

    const before = rx.got.length;
    await inTransaction(t.services.store.db, async (tx) => {
      await t.services.webhooks.emit(tx, {
        type: 'alias.moved',
        payload: { model: 'm', alias: 'champion', to: 3 },
      });
      // Not subscribed: must not reach this target.
      await t.services.webhooks.emit(tx, { type: 'model_version.created', payload: { model: 'm' } });
    });
    await t.services.webhooks.flush();
    const got = rx.got.slice(before).filter((r) => r.path === '/signed');
    expect(got).toHaveLength(1);
    const r = got[0]!;
    const body = JSON.parse(r.body) as { id: string; type: string; createdAt: string; payload: unknown };
    expect(body.type).toBe('alias.moved');
    expect(body.id).toMatch(/^evt_/);
    expect(body.payload).toEqual({ model: 'm', alias: 'champion', to: 3 });
    expect(r.headers['x-sextant-event']).toBe('alias.moved');
    expect(r.headers['x-sextant-delivery']).toMatch(/^whd_/);
    const ts = String(r.headers['x-sextant-timestamp']);
    // Recomputed here with node:crypto, independently of the signing code.
    const expected = createHmac('sha256', created.secret).update(`${ts}.${r.body}`).digest('hex');
    expect(r.headers['x-sextant-signature']).toBe(`sha256=${expected}`);
    const sig = String(r.headers['x-sextant-signature']);
    expect(
      verifyWebhookSignature({ secret: created.secret, body: r.body, timestamp: ts, signature: sig }),
    ).toBe(true);
    expect(
      verifyWebhookSignature({
        secret: 'wrong-secret-0123456789',
        body: r.body,
        timestamp: ts,
        signature: sig,
      }),
    ).toBe(false);
    expect(
      verifyWebhookSignature({ secret: created.secret, body: `${r.body} `, timestamp: ts, signature: sig }),
    ).toBe(false);
    expect(
      verifyWebhookSignature({
        secret: created.secret,
        body: r.body,
        timestamp: ts,
        signature: sig,
        nowSeconds: Number(ts) + 3600,
      }),
    ).toBe(false);

    const log = deliveriesReply.parse(
      (
        await t.app.inject({ method: 'GET', url: `/api/v1/webhooks/deliveries?target=${created.target.id}` })
      ).json(),
    ).deliveries;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      state: 'delivered',
      attempts: 1,
      eventType: 'alias.moved',
      lastStatusCode: 200,
    });
    expect(log[0]!.id).toBe(r.headers['x-sextant-delivery']);
    expect(log[0]!.log).toMatchObject([{ attempt: 1, statusCode: 200 }]);
    expect(log[0]!.nextAttemptAt).toBeUndefined();
  });

  it('a rolled-back change emits nothing: no event row, no delivery, nothing sent', async () => {
    const created = createdWebhookSchema.parse(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/webhooks',
          payload: { url: `${rx.url}/rollback` },
        })
      ).json(),
    );
    const before = rx.got.length;
    await expect(
      inTransaction(t.services.store.db, async (tx) => {
        await t.services.webhooks.emit(tx, {
          type: 'model_version.created',
          payload: { marker: 'rolled-back' },
        });
        throw new Error('the registry change failed');
      }),
    ).rejects.toThrow('the registry change failed');
    await t.services.webhooks.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(rx.got.slice(before).filter((r) => r.path === '/rollback')).toEqual([]);
    expect(await t.services.webhooks.deliveries({ target: created.target.id })).toEqual([]);
    const events = await t.services.store.db
      .selectFrom('webhook_events')
      .select('id')
      .where('body', 'like', '%rolled-back%')
      .execute();
    expect(events).toEqual([]);
    // The same emit, committed, does go out: the rollback, not the target, stopped it.
    await inTransaction(t.services.store.db, (tx) =>
      t.services.webhooks.emit(tx, { type: 'model_version.created', payload: { marker: 'committed' } }),
    );
    await t.services.webhooks.flush();
    expect(rx.got.slice(before).filter((r) => r.path === '/rollback')).toHaveLength(1);
  });

  it('test sends to one target now; a removed target gets no more deliveries and answers 404', async () => {
    const created = createdWebhookSchema.parse(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/webhooks',
          payload: { url: `${rx.url}/ping`, events: ['alias.moved'] },
        })
      ).json(),
    );
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${created.target.id}/test`,
      payload: {},
    });
    expect(res.statusCode, res.body).toBe(200);
    const d = webhookDeliverySchema.parse(res.json());
    expect(d).toMatchObject({
      eventType: 'webhook.test',
      state: 'delivered',
      attempts: 1,
      lastStatusCode: 200,
    });
    expect(rx.got.filter((r) => r.path === '/ping').map((r) => r.headers['x-sextant-event'])).toEqual([
      'webhook.test',
    ]);

    expect(
      (await t.app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${created.target.id}` })).statusCode,
    ).toBe(200);
    nativeError(
      await t.app.inject({ method: 'GET', url: `/api/v1/webhooks/${created.target.id}` }),
      404,
      'NOT_FOUND',
    );
    nativeError(
      await t.app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${created.target.id}` }),
      404,
      'NOT_FOUND',
    );
    const list = (await t.app.inject({ method: 'GET', url: '/api/v1/webhooks' })).json() as {
      webhooks: { id: string }[];
    };
    expect(list.webhooks.map((w) => w.id)).not.toContain(created.target.id);
    const audit = await t.services.audit.list({ entityType: 'webhook', entityId: created.target.id });
    expect(audit.map((a) => a.action).sort()).toEqual(['webhook.create', 'webhook.delete', 'webhook.test']);
    expect(JSON.stringify(audit)).not.toContain(created.secret);
  });

  it('bad input is a 400 naming the field; private targets are refused without the allow-list', async () => {
    const post = (app: TestApp, payload: unknown) =>
      app.app.inject({ method: 'POST', url: '/api/v1/webhooks', payload: payload as object });
    const cases: [TestApp, unknown, RegExp][] = [
      [t, { url: 'ftp://example.com/x' }, /^url: must be http/],
      [t, { url: 'not a url' }, /^url: 'not a url' is not a URL/],
      [t, { url: 'http://user:pw@127.0.0.1/' }, /^url: must not carry credentials/],
      [t, { url: `${rx.url}/x`, events: ['model.deleted'] }, /events\.0:/],
      [t, { url: `${rx.url}/x`, secret: 'short' }, /secret: must be at least 16/],
      [open, { url: `${rx.url}/x` }, /^url: refused, 127\.0\.0\.1 is a loopback address/],
      [open, { url: 'http://169.254.169.254/latest/meta-data/' }, /cloud metadata/],
      [open, { url: 'http://[::1]:8080/' }, /loopback/],
      [open, { url: 'http://10.0.0.5/' }, /private/],
      [open, { url: 'http://[fe80::1]/' }, /link-local/],
      [open, { url: 'http://100.64.1.1/' }, /carrier-grade NAT/],
      [open, { url: 'http://localhost:9/' }, /'localhost' resolves to .*loopback/],
      [open, { url: 'http://no-such-host.invalid/' }, /^url: cannot resolve host 'no-such-host.invalid'/],
    ];
    for (const [app, payload, message] of cases) {
      const res = await post(app, payload);
      const err = nativeError(res, 400, 'VALIDATION_FAILED');
      expect(err.message, JSON.stringify(payload)).toMatch(message);
    }
    nativeError(
      await t.app.inject({ method: 'GET', url: '/api/v1/webhooks/whk_nope' }),
      400,
      'VALIDATION_FAILED',
    );
    nativeError(
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/webhooks/deliveries?target=whk_00000000000000000000000000',
      }),
      404,
      'NOT_FOUND',
    );
  });

  it('the HTTP client does the same over the wire, with errors mapped back', async () => {
    const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const api = createHttpClient({ url: base }).webhooks;
    const created = await api.add({
      url: `${rx.url}/client`,
      events: ['alias.moved'],
      description: 'from the client',
    });
    expect(created.target).toMatchObject({
      url: `${rx.url}/client`,
      events: ['alias.moved'],
      description: 'from the client',
    });
    expect((await api.get(created.target.id)).id).toBe(created.target.id);
    expect((await api.list()).map((w) => w.id)).toContain(created.target.id);
    const d = await api.test(created.target.id);
    expect(d).toMatchObject({ state: 'delivered', eventType: 'webhook.test' });
    expect((await api.deliveries({ target: created.target.id, limit: 5 })).map((x) => x.id)).toEqual([d.id]);
    await api.remove(created.target.id);
    await expect(api.get(created.target.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(api.add({ url: 'gopher://x' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('the CLI adds, lists, tests, shows the delivery log and removes targets', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-webhooks-cli-'));
    const env = { SEXTANT_HOME: home, SEXTANT_WEBHOOK_ALLOW: '127.0.0.1' };
    const cli = async (...argv: string[]) => {
      let out = '';
      let err = '';
      const code = await runCli(argv, env, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`) });
      process.exitCode = undefined;
      return { code, out, err };
    };
    try {
      const add = await cli(
        '--json',
        'webhooks',
        'add',
        `${rx.url}/cli`,
        '--events',
        'alias.moved,alias.rolled_back',
      );
      expect(add.code, add.err).toBe(0);
      const created = createdWebhookSchema.parse(JSON.parse(add.out));
      expect(created.target.events).toEqual(['alias.moved', 'alias.rolled_back']);
      const plain = await cli('webhooks', 'add', `${rx.url}/cli2`, '--secret', 'a-secret-of-enough-length');
      expect(plain.out).toMatch(/secret\s+a-secret-of-enough-length/);
      expect(plain.err).toMatch(/not shown again/);

      const ls = await cli('webhooks', 'ls');
      expect(ls.out).toContain(created.target.id);
      expect(ls.out).toContain('alias.moved,alias.rolled_back');
      expect(ls.out).not.toContain(created.secret);

      const test = await cli('webhooks', 'test', created.target.id);
      expect(test.code, test.err).toBe(0);
      expect(test.out).toMatch(/state\s+delivered/);
      const log = await cli('webhooks', 'deliveries', '--target', created.target.id);
      expect(log.code).toBe(0);
      expect(log.out).toMatch(/DELIVERY\s+EVENT\s+TARGET\s+STATE\s+ATTEMPT\s+STATUS\s+ERROR\s+NEXT RETRY/);
      expect(log.out).toMatch(/webhook\.test\s+whk_\w+\s+delivered\s+1\s+200/);

      const bad = await cli('webhooks', 'add', `${rx.url}/x`, '--events', 'alias.moved,nope');
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/^error: --events: unknown event 'nope'/);
      const missing = await cli('webhooks', 'rm', 'whk_00000000000000000000000000');
      expect(missing.code).toBe(3);
      const rm = await cli('webhooks', 'rm', created.target.id);
      expect(rm.out).toContain(`removed webhook ${created.target.id}`);
      expect((await cli('webhooks', 'ls')).out).not.toContain(created.target.id);

      // Without the allow-list the same loopback target is refused with one clear line.
      let err = '';
      const code = await runCli(
        ['webhooks', 'add', `${rx.url}/x`],
        { SEXTANT_HOME: home },
        { out: () => {}, err: (s) => (err += s) },
      );
      process.exitCode = undefined;
      expect(code).toBe(2);
      expect(err).toMatch(/^error: url: refused, 127\.0\.0\.1 is a loopback address/);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
