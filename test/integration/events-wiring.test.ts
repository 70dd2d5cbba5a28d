import { afterAll, beforeAll, expect, it } from 'vitest';
import { isEvent } from '../../src/events/index.js';
import { type Actor, aliasMoved, modelVersionCreated } from '../../src/registry/index.js';
import { tinyOnnxModel } from '../e2e/registry-fixtures.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';

/*
 * The registry emits through the wired bus: an in-process handler subscribed in the wiring gets each
 * registry change once, typed by the registry's own definitions, and a change that fails reaches none.
 */
describeEachBackend('registry changes reach in-process subscribers through the wired bus', (getStore) => {
  let t: TestApp;
  const seen: { type: string; model: string; detail: number | null }[] = [];

  beforeAll(async () => {
    t = await createTestApp(getStore());
    t.services.events.subscribe({
      name: 'test.registry-watcher',
      types: [modelVersionCreated.type, aliasMoved.type],
      async handle(event, ctx) {
        if (isEvent(modelVersionCreated, event))
          seen.push({ type: event.type, model: event.payload.model, detail: event.payload.version });
        else if (isEvent(aliasMoved, event))
          seen.push({ type: event.type, model: event.payload.model, detail: event.payload.toVersion });
        // A database effect in the delivery's own transaction.
        await t.services.audit.append(ctx.tx, {
          actor: 'test.registry-watcher',
          action: 'test.saw',
          entityType: 'event',
          entityId: event.id,
        });
      },
    });
  });
  afterAll(async () => {
    await t.services.events.close();
    await t.close();
  });

  it('version registered and alias set arrive once each; a failed alias change arrives nowhere', async () => {
    const actor: Actor = { name: 'ada', role: 'admin' };
    const model = `watched-${Math.random().toString(36).slice(2, 8)}`;
    await t.services.registry.versions.registerFile({
      actor,
      model,
      filename: 'm.onnx',
      content: tinyOnnxModel(),
    });
    await t.services.registry.aliases.set({ actor, model, alias: 'staging', version: 1 });
    await expect(
      t.services.registry.aliases.set({ actor, model, alias: 'staging', version: 99 }),
    ).rejects.toThrow();
    await t.services.events.flush(10_000);
    // A second pass finds nothing left: each delivery was done once.
    expect((await t.services.events.deliverDue()).subscribers).toEqual([]);
    expect(seen.filter((s) => s.model === model)).toEqual([
      { type: 'model_version.created', model, detail: 1 },
      { type: 'alias.moved', model, detail: 1 },
    ]);
    const deliveries = await t.services.events.deliveries({
      subscriber: 'test.registry-watcher',
      limit: 100,
    });
    expect(deliveries.every((d) => d.state === 'done' && d.attempts === 1)).toBe(true);
    const saw = await t.services.audit.list({ entityType: 'event', limit: 100 });
    expect(saw.filter((e) => e.action === 'test.saw')).toHaveLength(deliveries.length);
  });
});
