import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { createTestDatabase } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { postgresUrl, serviceAvailable } from '../support/services.js';

/*
 * `sextant store migrate`: a SQLite workspace with a folder of blobs moves to PostgreSQL and an S3
 * bucket (a local S3 endpoint, s3rver) with every id, audit entry and blob as it was, and the moved
 * chain verifies.
 */

const BUCKET = 'sextant-migrate-test';

describe('store migrate: SQLite + folder -> PostgreSQL + S3', async () => {
  if (!(await serviceAvailable('postgres', postgresUrl, 5432))) {
    describe.skip('postgres unavailable', () => it('moves a workspace', () => {}));
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-migrate-'));
  const env: Record<string, string> = { SEXTANT_HOME: path.join(dir, 'home') };
  const blobsTo = `s3://${BUCKET}/team`;
  let s3: S3rver;
  // The S3 client takes its credentials from the environment, as it would on a team server.
  const savedKeys = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  let target: { url: string; drop(): Promise<void> };
  let runId = '';
  let blobSha = '';
  let sourceEntries: { seq: number; hash: string }[] = [];

  beforeAll(async () => {
    s3 = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: path.join(dir, 's3'),
      configureBuckets: [{ name: BUCKET }],
    });
    const { port } = await s3.run();
    env.SEXTANT_S3_ENDPOINT = `http://127.0.0.1:${port}`;
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    target = await createTestDatabase('postgres');
    const ws = await openWorkspace(loadConfig(env));
    try {
      await ws.auth.createUser({ actor: 'local', name: 'ada', role: 'approver' });
      const exp = await ws.experiments.create({ actor: 'local', name: 'churn' });
      runId = (await ws.runs.create({ actor: 'local', experimentId: exp.id })).id;
      await ws.runs.logBatch({
        actor: 'local',
        runId,
        metrics: [
          { key: 'loss', value: 0.25, timestamp: 1, step: 0 },
          { key: 'inf', value: Number.POSITIVE_INFINITY, timestamp: 1, step: 0 },
        ],
        params: [{ key: 'lr', value: '0.1' }],
      });
      blobSha = (await ws.blobs.put('artifact bytes')).sha256;
      sourceEntries = (await ws.audit.list({ limit: 1000 })).map((e) => ({ seq: e.seq, hash: e.hash }));
    } finally {
      await ws.close();
    }
  }, 60_000);
  afterAll(async () => {
    await target?.drop();
    await s3?.close();
    for (const [k, v] of [
      ['AWS_ACCESS_KEY_ID', savedKeys.id],
      ['AWS_SECRET_ACCESS_KEY', savedKeys.secret],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a target that is not a PostgreSQL URL', async () => {
    const r = await cli(env, 'store', 'migrate', '--to', 'mysql://nope');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--to/);
  });

  it('copies every row, audit entry and blob; the moved chain and governed tables verify', async () => {
    const r = await cli(env, 'store', 'migrate', '--to', target.url, '--blobs', blobsTo);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/audit chain OK on the target/);
    const moved = await openWorkspace(
      loadConfig({ ...env, SEXTANT_DATABASE_URL: target.url, SEXTANT_BLOB_URL: blobsTo }),
    );
    try {
      expect((await moved.auth.listUsers()).map((u) => u.name)).toContain('ada');
      const run = await moved.runs.get(runId);
      expect(Object.fromEntries(run.metrics.map((m) => [m.key, m.value]))).toEqual({
        loss: 0.25,
        inf: 'Infinity',
      });
      expect((await moved.blobs.getBytes(blobSha)).toString()).toBe('artifact bytes');
      const entries = await moved.audit.list({ limit: 1000 });
      expect(entries[0]?.action).toBe('workspace.migrated');
      // Every source entry is there with its seq and hash: the chain moved, it was not rewritten.
      expect(entries.slice(1).map((e) => ({ seq: e.seq, hash: e.hash }))).toEqual(sourceEntries);
      expect((await moved.audit.verify({ deep: true })).problems).toEqual([]);
      // New writes on the target take fresh ids after the copied ones (sequences moved past them).
      await moved.experiments.create({ actor: 'local', name: 'after-the-move' });
      expect((await moved.audit.verify()).ok).toBe(true);
    } finally {
      await moved.close();
    }
  });

  it('refuses a target that is not empty, and leaves it as it was', async () => {
    const r = await cli(env, 'store', 'migrate', '--to', target.url);
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/not empty/);
    const moved = await openWorkspace(
      loadConfig({ ...env, SEXTANT_DATABASE_URL: target.url, SEXTANT_BLOB_URL: blobsTo }),
    );
    try {
      expect((await moved.audit.verify({ deep: true })).ok).toBe(true);
    } finally {
      await moved.close();
    }
  });
});
