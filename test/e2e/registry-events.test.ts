import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Actor } from '../../src/registry/index.js';
import { verifyWebhookSignature } from '../../src/registry/webhooks/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

interface Received {
  body: string;
  headers: http.IncomingHttpHeaders;
}

describeEachBackend('registry events reach webhooks, signed', (getStore) => {
  let t: TestApp;
  let server: http.Server;
  const received: Received[] = [];
  let secret: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ body, headers: req.headers });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t = await createTestApp(getStore(), { SEXTANT_WEBHOOK_ALLOW: '127.0.0.1' });
    const port = (server.address() as AddressInfo).port;
    const created = await t.services.webhooks.add({ actor: 'ops', url: `http://127.0.0.1:${port}/registry` });
    secret = created.secret;
  });
  afterAll(async () => {
    await t.services.webhooks.close();
    await t.close();
    await new Promise((r) => server.close(r));
  });

  it('version created, request opened and decided, alias moved and rolled back: each delivered once, verifiable', async () => {
    const editor: Actor = { name: 'eve', role: 'editor' };
    const model = uniq('hooked');
    await t.services.registry.versions.registerFile({
      actor: editor,
      model,
      filename: 'm.onnx',
      content: tinyOnnxModel(),
    });
    await t.services.registry.versions.registerFile({
      actor: editor,
      model,
      filename: 'm.onnx',
      content: tinyOnnxModel([1, 1, 1]),
    });
    for (const v of [1, 2]) {
      const r = await t.services.registry.promotions.open({
        actor: editor,
        ref: `${model}@${v}`,
        alias: 'champion',
      });
      await t.services.registry.promotions.decide({
        actor: { name: 'amy', role: 'approver' },
        id: r.id,
        decision: 'approve',
      });
    }
    await t.services.registry.promotions.rollback({
      actor: { name: 'root', role: 'admin' },
      model,
      alias: 'champion',
    });
    await t.services.webhooks.flush(10_000);

    const events = received
      .map((r) => ({ ...r, parsed: JSON.parse(r.body) as { type: string; payload: { model?: string } } }))
      .filter((e) => e.parsed.payload.model === model);
    expect(events.map((e) => e.parsed.type).sort()).toEqual(
      [
        'model_version.created',
        'model_version.created',
        'promotion_request.opened',
        'promotion_request.opened',
        'promotion_request.decided',
        'promotion_request.decided',
        'alias.moved',
        'alias.moved',
        'alias.rolled_back',
      ].sort(),
    );
    for (const e of events) {
      expect(
        verifyWebhookSignature({
          secret,
          body: e.body,
          timestamp: String(e.headers['x-sextant-timestamp']),
          signature: String(e.headers['x-sextant-signature']),
        }),
      ).toBe(true);
    }
    const rolled = events.find((e) => e.parsed.type === 'alias.rolled_back')!.parsed.payload;
    expect(rolled).toMatchObject({ alias: 'champion', fromVersion: 2, toVersion: 1, emergency: true });
  });
});
