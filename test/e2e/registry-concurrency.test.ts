import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Actor } from '../../src/registry/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

const N = 100;
const actor: Actor = { name: 'race-tester', role: 'editor' };

describeEachBackend('registry under concurrency', (getStore) => {
  let t: TestApp;
  let runId: string;

  beforeAll(async () => {
    t = await createTestApp(getStore());
    const exp = await t.services.experiments.create({ actor: actor.name, name: uniq('race') });
    runId = (await t.services.runs.create({ actor: actor.name, experimentId: exp.id })).id;
    await t.services.artifacts.put({
      actor: actor.name,
      runId,
      path: 'model/model.onnx',
      content: tinyOnnxModel(),
    });
  });
  afterAll(async () => {
    await t.services.webhooks.close();
    await t.close();
  });

  it(`${N} concurrent registrations into a new model get exactly versions 1..${N}`, async () => {
    const model = uniq('hundred');
    const results = await Promise.allSettled(
      Array.from({ length: N }, () => t.services.registry.versions.registerFromRun({ actor, model, runId })),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([]);
    const numbers = results
      .map((r) => (r as PromiseFulfilledResult<{ version: number }>).value.version)
      .sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    const listed = await t.services.registry.versions.list({ model, limit: 1000 });
    expect(listed.versions.map((v) => v.version).sort((a, b) => a - b)).toEqual(numbers);
    expect((await t.services.registry.models.get(model)).latestVersion).toBe(N);
  });

  it('a deleted version number is never handed out again', async () => {
    const model = uniq('gapless');
    for (let i = 0; i < 3; i++) await t.services.registry.versions.registerFromRun({ actor, model, runId });
    await t.services.registry.versions.remove({ actor, model, version: 3 });
    const next = await t.services.registry.versions.registerFromRun({ actor, model, runId });
    expect(next.version).toBe(4);
  });

  it('concurrent approvals of one request: one executes, the alias moves once', async () => {
    const model = uniq('approvals');
    await t.services.registry.versions.registerFromRun({ actor, model, runId });
    const request = await t.services.registry.promotions.open({
      actor,
      ref: `${model}@1`,
      alias: 'champion',
    });
    const reviewers: Actor[] = Array.from({ length: 6 }, (_, i) => ({
      name: `reviewer-${i}`,
      role: 'approver',
    }));
    const results = await Promise.allSettled(
      reviewers.map((r) =>
        t.services.registry.promotions.decide({ actor: r, id: request.id, decision: 'approve' }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason.code).toMatch(/INVALID_TRANSITION|CONFLICT/);
    }
    const history = await t.services.registry.aliases.history({ model, alias: 'champion' });
    expect(history.map((e) => e.toVersion)).toEqual([1]);
  });
});
