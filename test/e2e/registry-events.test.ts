import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/events/webhooks/index.js';
import type { Actor } from '../../src/registry/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { startReceiver } from '../support/http-receiver.js';
import { uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

describeEachBackend('registry events reach webhooks, signed', (getStore) => {
  let t: TestApp;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let secret: string;

  beforeAll(async () => {
    rx = await startReceiver(() => 204);
    t = await createTestApp(getStore(), { SEXTANT_WEBHOOK_ALLOW: '127.0.0.1' });
    secret = (await t.services.webhooks.add({ actor: 'ops', url: `${rx.url}/registry` })).secret;
  });
  afterAll(async () => {
    await t.services.webhooks.close();
    await t.close();
    await rx.close();
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

    const events = rx.got
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
    // The signature recomputed from its definition, not only through our own verifier.
    const first = events[0]!;
    const mac = createHmac('sha256', secret)
      .update(`${String(first.headers['x-sextant-timestamp'])}.${first.body}`)
      .digest('hex');
    expect(first.headers['x-sextant-signature']).toBe(`sha256=${mac}`);
  });

  it('a change that fails sends nothing', async () => {
    const actor: Actor = { name: 'alice', role: 'admin' };
    const model = uniq('unhooked');
    await t.services.registry.versions.registerFile({ actor, model, filename: 'model.bin', content: 'v1' });
    await t.services.webhooks.flush(10_000);
    const before = rx.got.length;
    await expect(
      t.services.registry.aliases.set({ actor, model, alias: 'staging', version: 99 }),
    ).rejects.toThrow();
    await t.services.webhooks.flush(10_000);
    expect(rx.got.slice(before)).toEqual([]);
  });
});
