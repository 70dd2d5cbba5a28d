import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/app/index.js';
import { systemClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import { openStore, type Store } from '../../src/store/index.js';
import { createTestDatabase } from '../support/backends.js';
import { type LocalS3, startLocalS3 } from '../support/s3rver.js';

const BUCKET = 'sextant-gc';

describe('gc on the S3 blob store', () => {
  let server: LocalS3;
  let dir: string;
  let store: Store;
  let drop: () => Promise<void>;
  let s: Services;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-gc-s3-'));
    server = await startLocalS3({ dir, bucket: BUCKET });
    const db = await createTestDatabase('sqlite');
    drop = db.drop;
    store = await openStore(db.url);
    const blobs = server.blobStore();
    s = createServices({
      store,
      blobs,
      clock: systemClock,
      config: loadConfig({ SEXTANT_HOME: dir }),
      auditKey: 'test-audit-key-0123456789',
    });
  });
  afterAll(async () => {
    await s?.blobs.close();
    await store?.close();
    await drop?.();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the unreferenced blob, deletes it with --grace 0, keeps referenced ones, and audits it', async () => {
    const exp = await s.experiments.create({ actor: 'tester', name: 'gc-s3' });
    const run = await s.runs.create({ actor: 'tester', experimentId: exp.id });
    const kept = await s.artifacts.put({ actor: 'tester', runId: run.id, path: 'a.txt', content: 'kept' });
    const orphan = await s.blobs.put('orphan bytes');

    // A fresh blob (or one whose age the store does not report) is young: the default grace keeps it.
    const cautious = await s.governance.gc.run({ actor: 'tester', delete: true });
    expect(cautious.scanned.count).toBe(2);
    expect(cautious.referenced.count).toBe(1);
    expect(cautious.young.count).toBe(1);
    expect(cautious.deleted.count).toBe(0);
    expect(await s.blobs.has(orphan.sha256)).toBe(true);

    const report = await s.governance.gc.run({ actor: 'tester', delete: true, graceSeconds: 0 });
    expect(report.unreferenced.blobs.map((b) => b.sha256)).toEqual([orphan.sha256]);
    expect(report.deleted).toEqual({ count: 1, bytes: orphan.size });
    expect(await s.blobs.has(orphan.sha256)).toBe(false);
    expect(await s.blobs.has(kept.sha256)).toBe(true);
    const [entry] = await s.audit.list({ entityType: 'blob_store', limit: 1 });
    expect(entry).toMatchObject({
      action: 'blobs.gc',
      entityId: 's3',
      details: expect.objectContaining({ keys: [orphan.sha256] }),
    });
  });
});
