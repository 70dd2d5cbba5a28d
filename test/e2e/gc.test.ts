import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { auditEntrySchema } from '../../src/audit/index.js';
import type { BlobStore } from '../../src/blobs/index.js';
import { loadConfig } from '../../src/core/config.js';
import { gcReportSchema } from '../../src/governance/index.js';
import { buildApp } from '../../src/server/app.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { nativeError, ok, uniq } from './helpers.js';

/** Backdates a blob of the folder store (gc reads its age from the file's mtime). */
function backdate(blobs: BlobStore, sha256: string, ms = 2 * 3600_000) {
  const p = (blobs as unknown as { pathOf(s: string): string }).pathOf(sha256);
  const t = new Date(Date.now() - ms);
  fs.utimesSync(p, t, t);
}

describeEachBackend('POST /api/v1/gc', (getStore) => {
  let t: TestApp;
  let admin: Record<string, string>;
  let editor: Record<string, string>;
  beforeAll(async () => {
    t = await createTestApp(getStore(), { SEXTANT_AUTH: 'token' });
    const token = async (role: 'admin' | 'editor') => {
      const user = await t.services.auth.createUser({ actor: 'system', name: uniq(role), role });
      const { secret } = await t.services.auth.createToken({ actor: 'system', user: user.name, name: 'e2e' });
      return { authorization: `Bearer ${secret}` };
    };
    admin = await token('admin');
    editor = await token('editor');
  });
  afterAll(() => t.close());
  const gc = (body: unknown, headers = admin) =>
    t.app.inject({ method: 'POST', url: '/api/v1/gc', headers, payload: body as object });

  it('a dry run by default: reports the unreferenced blob and its bytes, deletes nothing', async () => {
    const orphan = await t.services.blobs.put(uniq('orphan'));
    backdate(t.services.blobs, orphan.sha256);
    const r = ok(await gc({}), gcReportSchema);
    expect(r.dryRun).toBe(true);
    expect(r.graceSeconds).toBe(3600);
    expect(r.unreferenced.blobs).toContainEqual(
      expect.objectContaining({ sha256: orphan.sha256, size: orphan.size }),
    );
    expect(r.unreferenced.bytes).toBeGreaterThanOrEqual(orphan.size);
    expect(await t.services.blobs.has(orphan.sha256)).toBe(true);
  });

  it('the files of a logged model without a run are referenced: gc never takes them', async () => {
    const exp = await t.services.experiments.create({ actor: 'e2e', name: uniq('exp') });
    const model = await t.services.loggedModels.create({ actor: 'e2e', experimentId: exp.id });
    const file = await t.services.loggedModelArtifacts.put({
      actor: 'e2e',
      modelId: model.id,
      path: 'model.pkl',
      content: uniq('runless-model'),
    });
    backdate(t.services.blobs, file.sha256);
    const r = ok(await gc({ delete: true }), gcReportSchema);
    expect(r.unreferenced.blobs.map((b) => b.sha256)).not.toContain(file.sha256);
    expect(await t.services.blobs.has(file.sha256)).toBe(true);
  });

  it('delete: true removes it and the audit log shows who, how many and the digest', async () => {
    const orphan = await t.services.blobs.put(uniq('orphan'));
    backdate(t.services.blobs, orphan.sha256);
    const r = ok(await gc({ delete: true }), gcReportSchema);
    expect(r.dryRun).toBe(false);
    expect(r.unreferenced.blobs.map((b) => b.sha256)).toContain(orphan.sha256);
    expect(r.deleted.count).toBe(r.unreferenced.count);
    expect(await t.services.blobs.has(orphan.sha256)).toBe(false);
    const audit = ok(
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/audit?entityType=blob_store&limit=1',
        headers: admin,
      }),
      z.object({ entries: z.array(auditEntrySchema) }),
    );
    expect(audit.entries[0]).toMatchObject({
      id: r.auditEntryId,
      action: 'blobs.gc',
      details: expect.objectContaining({ count: r.deleted.count, bytes: r.deleted.bytes, digest: r.digest }),
    });
    expect(audit.entries[0]?.actor).toMatch(/^admin-/);
  });

  it('only admins may run it; bad bodies name the field', async () => {
    nativeError(await gc({ delete: true }, editor), 403, 'FORBIDDEN');
    const bad = nativeError(await gc({ graceSeconds: -5 }), 400, 'VALIDATION_FAILED');
    expect(bad.message).toContain('graceSeconds');
    nativeError(await gc({ delete: 'yes' }), 400, 'VALIDATION_FAILED');
  });
});

describe('sextant gc', () => {
  let home: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let local: Record<string, string>;
  let remote: Record<string, string>;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-gc-cli-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home }));
    app = await buildApp(ws);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    local = { SEXTANT_HOME: home };
    remote = { SEXTANT_HOME: home, SEXTANT_URL: url };
  });
  afterAll(async () => {
    await app?.close();
    await ws?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  for (const transport of ['local', 'remote'] as const) {
    const env = () => (transport === 'local' ? local : remote);

    it(`[${transport}] dry run prints count and bytes; --delete removes, audited; young blobs stay`, async () => {
      const exp = await ws.experiments.create({ actor: 'e2e', name: uniq('exp') });
      const run = await ws.runs.create({ actor: 'e2e', experimentId: exp.id });
      const kept = await ws.artifacts.put({
        actor: 'e2e',
        runId: run.id,
        path: 'a.txt',
        content: uniq('kept'),
      });
      backdate(ws.blobs, kept.sha256);
      const orphan = await ws.blobs.put('x'.repeat(2048) + uniq('o'));
      backdate(ws.blobs, orphan.sha256);
      const young = await ws.blobs.put(uniq('young'));

      const dry = await cli(env(), 'gc', '--list');
      expect(dry.code, dry.err).toBe(0);
      expect(dry.out).toMatch(
        /^dry run: 1 unreferenced blobs, 2\.0 KiB would be deleted \(\d+ blobs, .+ scanned\)$/m,
      );
      expect(dry.out).toContain(orphan.sha256);
      expect(dry.out).toMatch(/1 unreferenced blobs \(.+\) are younger than 1h and were kept/);
      expect(dry.out).toContain('run `sextant gc --delete` to remove them');
      expect(await ws.blobs.has(orphan.sha256)).toBe(true);

      const del = await cli(env(), '--json', 'gc', '--delete');
      expect(del.code, del.err).toBe(0);
      const r = gcReportSchema.parse(JSON.parse(del.out));
      expect(r.deleted).toEqual({ count: 1, bytes: orphan.size });
      expect(await ws.blobs.has(orphan.sha256)).toBe(false);
      expect(await ws.blobs.has(kept.sha256)).toBe(true);
      expect(await ws.blobs.has(young.sha256)).toBe(true);
      const [entry] = await ws.audit.list({ entityType: 'blob_store', limit: 1 });
      expect(entry?.details).toMatchObject({ count: 1, keys: [orphan.sha256] });

      const zero = await cli(env(), 'gc', '--delete', '--grace', '0');
      expect(zero.out).toMatch(/^deleted 1 blobs, /);
      expect(await ws.blobs.has(young.sha256)).toBe(false);
    });

    it(`[${transport}] a bad --grace is one line and exit 2`, async () => {
      const res = await cli(env(), 'gc', '--grace', 'soon');
      expect(res.code).toBe(2);
      expect(res.err).toBe("error: --grace: expected a duration like 0, 90s, 30m, 1h or 7d, got 'soon'\n");
    });
  }
});
