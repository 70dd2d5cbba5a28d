import { randomBytes } from 'node:crypto';
import { chmod, open } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../src/blobs/index.js';
import { sha256Hex } from '../../src/core/hashing.js';
import { openStore, type Store } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/backends.js';
import { PROXY } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * Hostile storage (issue 16, finding 6): a blob flipped on disk behind the server's back. No reply may
 * start with bytes that turn out corrupted (the status and length leave with the first byte), the
 * refusal names the integrity error, and uploading the right bytes again repairs the blob.
 */

const MiB = 1024 * 1024;

describe('hostile: corrupted blobs are never served', () => {
  let t: TestApp;
  let store: Store;
  let drop: () => Promise<void>;
  let runId: string;
  let expId: string;

  beforeAll(async () => {
    const db = await createTestDatabase('sqlite');
    drop = db.drop;
    store = await openStore(db.url);
    t = await createTestApp(store);
    expId = (await t.services.experiments.create({ actor: 'local', name: `integrity-${Date.now()}` })).id;
    runId = (await t.services.runs.create({ actor: 'local', experimentId: expId })).id;
  });
  afterAll(async () => {
    await t.close();
    await store.close();
    await drop();
  });

  /** Flips one byte of a stored blob in place, as disk damage or a careless hand would. */
  async function corrupt(sha256: string): Promise<void> {
    const blobs = t.services.blobs;
    if (!(blobs instanceof LocalBlobStore)) throw new Error('the test app keeps blobs in a folder');
    const file = blobs.pathOf(sha256);
    await chmod(file, 0o644);
    const handle = await open(file, 'r+');
    const { size } = await handle.stat();
    const at = Math.floor(size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await handle.write(byte, 0, 1, at);
    await handle.close();
  }

  const upload = (path: string, bytes: Buffer) =>
    t.app.inject({
      method: 'PUT',
      url: `/api/v1/runs/${runId}/artifacts/${path}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: bytes,
    });

  for (const [label, size] of [
    ['a 5 MiB artifact (verified in memory)', 5 * MiB],
    ['a 12 MiB artifact (pre-checked on disk)', 12 * MiB],
    ['a small artifact', 2000],
  ] as const) {
    it(`${label}: corrupted, it answers an integrity error with none of its bytes; a re-upload repairs it`, async () => {
      const bytes = randomBytes(size);
      const path = `data/${size}.bin`;
      const sha256 = sha256Hex(bytes);
      expect((await upload(path, bytes)).statusCode).toBe(201);
      await corrupt(sha256);

      const native = await t.app.inject({ method: 'GET', url: `/api/v1/runs/${runId}/artifacts/${path}` });
      expect(native.statusCode).toBe(500);
      expect(native.json()).toMatchObject({
        error: { code: 'INTEGRITY_ERROR', message: expect.stringContaining(`blob ${sha256} is corrupted`) },
      });
      expect(native.rawPayload.length).toBeLessThan(1000);
      const proxied = await t.app.inject({
        method: 'GET',
        url: `${PROXY}/${expId}/${runId}/artifacts/${path}`,
      });
      expect(proxied.statusCode).toBe(500);
      expect(proxied.json()).toMatchObject({ error_code: 'DATA_LOSS' });

      // The same bytes again: success, and the stored copy is whole again.
      expect((await upload(path, bytes)).statusCode).toBe(201);
      const repaired = await t.app.inject({ method: 'GET', url: `/api/v1/runs/${runId}/artifacts/${path}` });
      expect(repaired.statusCode).toBe(200);
      expect(sha256Hex(repaired.rawPayload)).toBe(sha256);
    });
  }

  it('a corrupted model version is refused on download with the integrity error', async () => {
    const bytes = Buffer.from(tinyOnnxModel([0.4, 0.3, 0.2]));
    const model = `integrity-${Date.now()}`;
    const v = await t.services.registry.versions.registerFile({
      actor: { name: 'local', role: 'admin' },
      model,
      filename: 'model.onnx',
      content: bytes,
    });
    await corrupt(v.sha256);
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/models/${model}/versions/1/download` });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ error: { code: 'INTEGRITY_ERROR' } });
  });
});
