import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestSchema } from '../../src/app/backup/index.js';
import { readTarIndex } from '../../src/app/backup/tar-archive.js';
import { openWorkspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { type BackendName, createTestDatabase } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { postgresUrl, serviceAvailable } from '../support/services.js';

/*
 * `sextant backup` and `sextant restore` through the CLI, on each backend with a folder blob store:
 * a restored workspace holds the same rows and blobs, its audit chain and governed tables verify, a
 * non-empty target is refused without --force, and a damaged archive is refused before anything is written.
 */

const pgAvailable = serviceAvailable('postgres', postgresUrl, 5432);

for (const backend of ['sqlite', 'postgres'] as BackendName[]) {
  describe(`backup and restore [${backend}]`, async () => {
    if (backend === 'postgres' && !(await pgAvailable)) {
      describe.skip('postgres unavailable', () => it('backs up and restores', () => {}));
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-backup-'));
    const dbs: { url: string; drop(): Promise<void> }[] = [];
    const homes: Record<string, Record<string, string>> = {};
    let archive = '';
    let blobSha = '';
    let runId = '';

    /** A workspace home with its own database of this backend. */
    async function home(name: string): Promise<Record<string, string>> {
      const db =
        backend === 'sqlite'
          ? { url: `sqlite:${path.join(dir, name, 'sextant.db')}`, drop: async () => {} }
          : await createTestDatabase(backend);
      dbs.push(db);
      homes[name] = { SEXTANT_HOME: path.join(dir, name), SEXTANT_DATABASE_URL: db.url };
      return homes[name];
    }

    beforeAll(async () => {
      const env = await home('source');
      const ws = await openWorkspace(loadConfig(env));
      try {
        await ws.auth.createUser({ actor: 'local', name: 'ada', role: 'approver' });
        const exp = await ws.experiments.create({ actor: 'local', name: 'churn' });
        const run = await ws.runs.create({ actor: 'local', experimentId: exp.id });
        runId = run.id;
        await ws.runs.logBatch({
          actor: 'local',
          runId,
          metrics: [
            { key: 'loss', value: 0.25, timestamp: 1, step: 0 },
            { key: 'odd', value: Number.NaN, timestamp: 1, step: 0 },
          ],
        });
        blobSha = (await ws.blobs.put('the bytes of an artifact')).sha256;
      } finally {
        await ws.close();
      }
      archive = path.join(dir, 'backup.tar');
    });
    afterAll(async () => {
      for (const db of dbs) await db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('writes one archive whose manifest lists the database, every blob and their digests', async () => {
      const r = await cli(homes.source!, 'backup', archive);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/backup written/);
      const index = await readTarIndex(archive);
      const names = index.map((e) => e.name);
      expect(names[names.length - 1]).toBe('manifest.json');
      expect(names).toContain(`blobs/${blobSha}`);
      const last = index[index.length - 1]!;
      const manifest = manifestSchema.parse(
        JSON.parse(
          fs
            .readFileSync(archive)
            .subarray(last.offset, last.offset + last.size)
            .toString('utf8'),
        ),
      );
      expect(manifest.backend).toBe(backend);
      expect(manifest.auditHead?.seq).toBeGreaterThan(0);
      expect(manifest.entries.map((e) => e.name).sort()).toEqual(names.slice(0, -1).sort());
      // The backup itself is audited, after the snapshot it took.
      const log = await cli(homes.source!, '--json', 'audit', 'log', '--limit', '1');
      expect(JSON.parse(log.out).entries[0].action).toBe('workspace.backed_up');
      // It never overwrites.
      expect((await cli(homes.source!, 'backup', archive)).code).not.toBe(0);
    });

    it('refuses to restore without the audit key the chain was signed with, and writes nothing', async () => {
      const env = await home('keyless');
      const r = await cli(env, 'restore', archive);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/audit\.key/);
      expect(fs.existsSync(path.join(env.SEXTANT_HOME!, 'audit.key'))).toBe(false);
    });

    it('restores into an empty workspace: same rows, same blobs, and the chain and governed tables verify', async () => {
      const env = await home('target');
      fs.mkdirSync(env.SEXTANT_HOME!, { recursive: true });
      fs.copyFileSync(
        path.join(homes.source!.SEXTANT_HOME!, 'audit.key'),
        path.join(env.SEXTANT_HOME!, 'audit.key'),
      );
      const r = await cli(env, 'restore', archive);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/audit chain OK/);
      const ws = await openWorkspace(loadConfig(env));
      try {
        expect((await ws.auth.listUsers()).map((u) => u.name)).toContain('ada');
        const run = await ws.runs.get(runId);
        const values = Object.fromEntries(run.metrics.map((m) => [m.key, m.value]));
        expect(values).toEqual({ loss: 0.25, odd: 'NaN' });
        expect((await ws.blobs.getBytes(blobSha)).toString()).toBe('the bytes of an artifact');
        const verify = await ws.audit.verify({ deep: true });
        expect(verify.problems).toEqual([]);
        const last = await ws.audit.list({ limit: 1 });
        expect(last[0]?.action).toBe('workspace.restored');
      } finally {
        await ws.close();
      }
      expect((await cli(env, 'audit', 'verify', '--deep')).code).toBe(0);
    });

    it('refuses a workspace that is not empty unless --force, and --force replaces it', async () => {
      const env = homes.target!;
      const entries = async () => {
        const ws = await openWorkspace(loadConfig(env));
        try {
          return (await ws.audit.verify()).entries;
        } finally {
          await ws.close();
        }
      };
      const before = await entries();
      const refused = await cli(env, 'restore', archive);
      expect(refused.code).toBe(4);
      expect(refused.err).toMatch(/not empty.*--force/);
      expect(await entries()).toBe(before);
      const forced = await cli(env, 'restore', '--force', archive);
      expect(forced.err).toBe('');
      expect(forced.code).toBe(0);
      // The archive's head plus the restore's own entry: what the target had on top is gone.
      expect(await entries()).toBe(before);
    });

    it('refuses a damaged archive before writing anything', async () => {
      const damaged = path.join(dir, 'damaged.tar');
      const bytes = fs.readFileSync(archive);
      const blob = (await readTarIndex(archive)).find((e) => e.name === `blobs/${blobSha}`)!;
      bytes[blob.offset] = (bytes[blob.offset] as number) ^ 0xff;
      fs.writeFileSync(damaged, bytes);
      const env = await home('damaged');
      fs.mkdirSync(env.SEXTANT_HOME!, { recursive: true });
      fs.copyFileSync(
        path.join(homes.source!.SEXTANT_HOME!, 'audit.key'),
        path.join(env.SEXTANT_HOME!, 'audit.key'),
      );
      const r = await cli(env, 'restore', damaged);
      expect(r.code).toBe(7);
      expect(r.err).toMatch(new RegExp(`blobs/${blobSha}.*does not match`));
      expect(fs.existsSync(path.join(env.SEXTANT_HOME!, 'blobs'))).toBe(false);
      if (backend === 'sqlite') expect(fs.existsSync(path.join(env.SEXTANT_HOME!, 'sextant.db'))).toBe(false);
    });
  });
}
