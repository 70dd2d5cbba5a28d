import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { uniq } from './helpers.js';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

describeEachBackend('webhooks: registry changes reach subscribers', (getStore) => {
  let t: TestApp;
  let server: http.Server;
  let url: string;
  const got: Received[] = [];

  beforeAll(async () => {
    t = await createTestApp(getStore(), { SEXTANT_WEBHOOK_ALLOW: '127.0.0.1' });
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/registry`;
  });
  afterAll(async () => {
    await t.services.webhooks.close();
    await t.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('registering versions and moving an alias send signed events; a failed change sends none', async () => {
    const actor = { name: 'alice', role: 'admin' as const };
    const { secret } = await t.services.webhooks.add({
      actor: 'admin',
      url,
      events: ['model_version.created', 'alias.moved'],
    });
    const model = uniq('churn');
    const reg = t.services.registry;
    await reg.versions.registerFile({ actor, model, filename: 'model.bin', content: 'weights v1' });
    await reg.versions.registerFile({ actor, model, filename: 'model.bin', content: 'weights v2' });
    await reg.aliases.set({ actor, model, alias: 'staging', version: 2, reason: 'try it' });
    await expect(reg.aliases.set({ actor, model, alias: 'staging', version: 99 })).rejects.toThrow();
    await t.services.webhooks.flush();

    const events = got.map((r) => JSON.parse(r.body) as { type: string; payload: Record<string, unknown> });
    expect(events.map((e) => e.type)).toEqual([
      'model_version.created',
      'model_version.created',
      'alias.moved',
    ]);
    expect(events.slice(0, 2).map((e) => [e.payload.model, e.payload.version])).toEqual([
      [model, 1],
      [model, 2],
    ]);
    for (const r of got) {
      const ts = String(r.headers['x-sextant-timestamp']);
      const mac = createHmac('sha256', secret).update(`${ts}.${r.body}`).digest('hex');
      expect(r.headers['x-sextant-signature']).toBe(`sha256=${mac}`);
    }
    const log = await t.services.webhooks.deliveries({});
    expect(log.filter((d) => d.state === 'delivered')).toHaveLength(3);
  });
});
