import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/app/index.js';
import { createBlobStore } from '../../src/blobs/index.js';
import { fakeClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import type { Actor } from '../../src/registry/index.js';
import { describeEachBackend } from '../support/backends.js';

const editor: Actor = { name: 'erin', role: 'editor' };
const approver: Actor = { name: 'abe', role: 'approver' };

describeEachBackend('promotion requests over time (fake clock)', (getStore) => {
  const clock = fakeClock(Date.UTC(2026, 2, 1, 12));
  let s: Services;
  let home: string;
  let n = 0;
  const name = () => `expiry-${++n}-${Math.random().toString(36).slice(2, 7)}`;

  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-registry-'));
    s = createServices({
      store: getStore(),
      blobs: createBlobStore(`file:${path.join(home, 'blobs')}`),
      clock,
      config: loadConfig({ SEXTANT_HOME: home }),
      auditKey: 'registry-test-key-0123456789',
    });
  });
  afterAll(async () => {
    await s.webhooks.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  async function modelWithVersions(count: number) {
    const model = name();
    for (let i = 0; i < count; i++) {
      await s.registry.versions.registerFile({
        actor: editor,
        model,
        filename: 'weights.bin',
        content: `w${i}`,
      });
    }
    return model;
  }

  it('a request past its expiry cannot be approved (InvalidTransitionError) and frees its alias', async () => {
    const model = await modelWithVersions(2);
    await s.registry.policies.set({
      actor: { name: 'root', role: 'admin' },
      model,
      yaml: 'expiresAfter: 2h\n',
    });
    const r = await s.registry.promotions.open({ actor: editor, ref: `${model}@1`, alias: 'champion' });
    expect(r.expiresAt).toBe('2026-03-01T14:00:00.000Z');
    clock.advance(2 * 3_600_000 + 1);
    expect((await s.registry.promotions.get(r.id)).status).toBe('expired');
    await expect(
      s.registry.promotions.decide({ actor: approver, id: r.id, decision: 'approve' }),
    ).rejects.toMatchObject({
      code: 'INVALID_TRANSITION',
      message: 'promotion request cannot go from expired to approved',
    });
    const stored = await s.registry.promotions.list({ model, status: 'expired' });
    expect(stored.map((x) => x.id)).toEqual([r.id]);
    const next = await s.registry.promotions.open({ actor: editor, ref: `${model}@2`, alias: 'champion' });
    expect(next.status).toBe('pending');
    const audit = await s.audit.list({ entityType: 'promotion_request', entityId: r.id });
    expect(audit.map((e) => e.action)).toContain('promotion_request.expire');
  });

  it('two approvals needed: the first leaves it pending, the second executes; the history keeps both approvers', async () => {
    const model = await modelWithVersions(1);
    await s.registry.policies.set({ actor: { name: 'root', role: 'admin' }, model, yaml: 'approvals: 2\n' });
    const t0 = clock.now();
    const r = await s.registry.promotions.open({
      actor: editor,
      ref: `${model}@1`,
      alias: 'champion',
      reason: 'launch',
    });
    clock.advance(60_000);
    const first = await s.registry.promotions.decide({
      actor: approver,
      id: r.id,
      decision: 'approve',
      comment: 'ok',
    });
    expect(first.status).toBe('pending');
    await expect(
      s.registry.promotions.decide({ actor: approver, id: r.id, decision: 'approve' }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    const editorTry = s.registry.promotions.decide({
      actor: { name: 'ed', role: 'editor' },
      id: r.id,
      decision: 'approve',
    });
    await expect(editorTry).rejects.toMatchObject({ code: 'FORBIDDEN' });
    clock.advance(60_000);
    const done = await s.registry.promotions.decide({
      actor: { name: 'ada', role: 'admin' },
      id: r.id,
      decision: 'approve',
    });
    expect(done.status).toBe('executed');
    const [event] = await s.registry.aliases.history({ model });
    expect(event).toMatchObject({ toVersion: 1, at: new Date(t0 + 120_000).toISOString(), reason: 'launch' });
    expect(event?.approvals.map((a) => a.actor)).toEqual(['abe', 'ada']);
    const atOpen = await s.registry.aliases.at({
      model,
      alias: 'champion',
      at: new Date(t0 + 60_000).toISOString(),
    });
    expect(atOpen[0]?.version).toBeNull();
  });

  it('a rejection needs a comment and ends the request; the rejected request cannot be approved', async () => {
    const model = await modelWithVersions(1);
    const r = await s.registry.promotions.open({ actor: editor, ref: `${model}@1`, alias: 'challenger' });
    await expect(
      s.registry.promotions.decide({ actor: approver, id: r.id, decision: 'reject' }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    const rejected = await s.registry.promotions.decide({
      actor: approver,
      id: r.id,
      decision: 'reject',
      comment: 'needs a fairness review',
    });
    expect(rejected).toMatchObject({
      status: 'rejected',
      decisions: [{ decision: 'reject', comment: 'needs a fairness review' }],
    });
    await expect(
      s.registry.promotions.decide({ actor: { name: 'ada', role: 'admin' }, id: r.id, decision: 'approve' }),
    ).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
  });
});
