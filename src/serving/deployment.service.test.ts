import { afterAll, beforeAll, expect, it } from 'vitest';
import { uniq } from '../../test/e2e/helpers.js';
import { tinyOnnxModel } from '../../test/e2e/registry-fixtures.js';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { describeEachBackend } from '../../test/support/backends.js';
import { deploymentSchema } from './serving.schema.js';

const admin = { name: 'ada', role: 'admin' as const };

describeEachBackend('deployments', (getStore) => {
  let t: TestApp;
  let model: string;

  beforeAll(async () => {
    t = await createTestApp(getStore());
    model = uniq('credit');
    const r = t.services.registry;
    for (const w of [0.5, 0.25]) {
      await r.versions.registerFile({
        actor: admin,
        model,
        filename: 'model.onnx',
        content: tinyOnnxModel([w, -0.25, 1]),
      });
    }
    await r.versions.registerFile({ actor: admin, model, filename: 'notes.txt', content: 'not a model' });
    await r.aliases.set({ actor: admin, model, alias: 'live', version: 1 });
    await r.aliases.set({ actor: admin, model, alias: 'next', version: 2 });
  });
  afterAll(() => t.close());

  const svc = () => t.services.serving.deployments;
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'resolved',
      (e: { code?: string; details?: { field?: string } }) => `${e.code}:${e.details?.field ?? ''}`,
    );

  it('creates, reads, lists, updates and deletes a deployment, each change audited', async () => {
    const name = uniq('credit-live');
    const created = await svc().create({
      actor: 'ada',
      name,
      model: `${model}@live`,
      challenger: { ref: 'next', mode: 'canary', percent: 10 },
    });
    expect(deploymentSchema.parse(created)).toMatchObject({
      name,
      model,
      ref: 'live',
      challenger: { ref: 'next', mode: 'canary', percent: 10 },
      ledgerMode: 'durable',
      createdBy: 'ada',
      deletedAt: null,
    });
    expect(await svc().get(name)).toEqual(created);
    expect(await svc().get(created.id)).toEqual(created);
    expect((await svc().list()).map((d) => d.name)).toContain(name);

    const updated = await svc().update({
      actor: 'bea',
      name,
      challenger: { ref: '2', mode: 'shadow' },
      ledgerMode: 'async',
    });
    expect(updated.challenger).toEqual({ ref: '2', mode: 'shadow', percent: null });
    expect(updated.ledgerMode).toBe('async');
    expect((await svc().update({ actor: 'bea', name, challenger: null })).challenger).toBeNull();

    await svc().remove({ actor: 'cy', name });
    expect(await codeOf(svc().get(name))).toBe('NOT_FOUND:');
    // The id still names it (its predictions stay traceable); the name is free again.
    expect((await svc().get(created.id)).deletedAt).not.toBeNull();
    await svc().create({ actor: 'ada', name, model: `${model}@1` });

    const audit = await t.services.audit.list({ entityType: 'deployment', entityId: created.id, limit: 10 });
    expect(audit.map((a) => [a.action, a.actor]).sort()).toEqual(
      [
        ['deployment.create', 'ada'],
        ['deployment.update', 'bea'],
        ['deployment.update', 'bea'],
        ['deployment.delete', 'cy'],
      ].sort(),
    );
    // Each change also went into the event outbox, in its transaction, with the state it left.
    const events = (
      await t.services.events.events({
        types: ['deployment.created', 'deployment.updated', 'deployment.deleted'],
        limit: 1000,
      })
    )
      .filter((e) => (e.payload as { deployment: { id: string } }).deployment.id === created.id)
      .reverse();
    expect(events.map((e) => [e.type, e.actor])).toEqual([
      ['deployment.created', 'ada'],
      ['deployment.updated', 'bea'],
      ['deployment.updated', 'bea'],
      ['deployment.deleted', 'cy'],
    ]);
    expect(events[1]!.payload).toMatchObject({
      deployment: { challenger: { ref: '2', mode: 'shadow' }, ledgerMode: 'async' },
      actor: 'bea',
    });
    expect(
      (events[3]!.payload as { deployment: { deletedAt: string | null } }).deployment.deletedAt,
    ).not.toBeNull();
  });

  it('refuses a second live deployment of the same name, also when two race for it', async () => {
    const name = uniq('dup');
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => svc().create({ actor: 'ada', name, model: `${model}@1` })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected'))
      expect((r as PromiseRejectedResult).reason.code).toBe('ALREADY_EXISTS');
  });

  it('refuses what it could not serve, naming the field', async () => {
    const make = (over: Record<string, unknown>) =>
      codeOf(svc().create({ actor: 'ada', name: uniq('bad'), model: `${model}@live`, ...over } as never));
    // A ref that names nothing is not found (the CLI's exit 3), naming the field.
    expect(await make({ model: 'no-such-model@live' })).toBe('NOT_FOUND:model');
    expect(await make({ model: `${model}@nope` })).toBe('NOT_FOUND:model');
    expect(await make({ model: `${model}@99` })).toBe('NOT_FOUND:model');
    expect(await make({ model: model })).toBe('VALIDATION_FAILED:model');
    // Version 3 is a text file: not ONNX, so not servable.
    expect(await make({ model: `${model}@3` })).toBe('VALIDATION_FAILED:model');
    expect(await make({ name: 'has space' })).toBe('VALIDATION_FAILED:name');
    expect(await make({ ledgerMode: 'sometimes' })).toBe('VALIDATION_FAILED:ledgerMode');
    expect(await make({ challenger: { ref: 'nope', mode: 'shadow' } })).toBe('NOT_FOUND:challenger.ref');
    expect(await make({ challenger: { ref: '2', mode: 'canary' } })).toBe(
      'VALIDATION_FAILED:challenger.percent',
    );
    expect(await make({ challenger: { ref: '2', mode: 'canary', percent: 101 } })).toBe(
      'VALIDATION_FAILED:challenger.percent',
    );
    expect(await make({ challenger: { ref: '2', mode: 'shadow', percent: 5 } })).toBe(
      'VALIDATION_FAILED:challenger.percent',
    );
    expect(await make({ challenger: { ref: 'live', mode: 'shadow' } })).toBe(
      'VALIDATION_FAILED:challenger.ref',
    );
    // A challenger is a version of the same model: another model's ref names nothing here.
    expect(await make({ challenger: { ref: 'other-model@1', mode: 'shadow' } })).toBe(
      'NOT_FOUND:challenger.ref',
    );
    expect(await codeOf(svc().update({ actor: 'ada', name: uniq('missing'), ledgerMode: 'async' }))).toBe(
      'NOT_FOUND:',
    );
    expect(await codeOf(svc().remove({ actor: 'ada', name: uniq('missing') }))).toBe('NOT_FOUND:');
  });
});
