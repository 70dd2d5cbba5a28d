import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/app/index.js';
import { S3BlobStore } from '../../src/blobs/index.js';
import { addVersionWith } from '../../src/client/data-api.js';
import { createHttpClient } from '../../src/client/index.js';
import { systemClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import { addPath, HashCache } from '../../src/data/index.js';
import { buildApp } from '../../src/server/app.js';
import { openStore, type Store } from '../../src/store/index.js';
import { uniq } from './helpers.js';

const BUCKET = 'sextant-data-test';
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

describe('dataset versions over HTTP on an S3 blob store', () => {
  let tmp: string;
  let s3: S3rver;
  let store: Store;
  let blobs: S3BlobStore;
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-data-s3-'));
    s3 = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: path.join(tmp, 's3'),
      configureBuckets: [{ name: BUCKET }],
    });
    const { port } = await s3.run();
    blobs = new S3BlobStore({
      bucket: BUCKET,
      prefix: 'blobs',
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials,
      forcePathStyle: true,
      tmpDir: path.join(tmp, 'spool'),
    });
    fs.mkdirSync(path.join(tmp, 'spool'));
    store = await openStore(`sqlite:${path.join(tmp, 'db.sqlite')}`);
    const config = loadConfig({ SEXTANT_HOME: path.join(tmp, 'home') });
    const services = createServices({ store, blobs, clock: systemClock, config, auditKey: 'k'.repeat(32) });
    app = await buildApp(services);
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await blobs?.close();
    await store?.close();
    await s3?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('uploads only missing blobs, profiles the CSV from S3, and gets the files back verified', async () => {
    const api = createHttpClient({ url });
    const dir = path.join(tmp, uniq('work'));
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'train.csv'), 'x,label\n1.5,a\n2.5,b\n3.5,a\n');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'same bytes');
    fs.writeFileSync(path.join(dir, 'copy.txt'), 'same bytes');
    const cache = new HashCache(path.join(tmp, 'client-home'));
    const first = await addPath(api.data, dir, { dataset: 'credit-s3', cache });
    expect(first.created).toBe(true);
    expect(first.version.tables[0]).toMatchObject({ path: 'train.csv', rowCount: 3 });
    expect(first.version.tables[0]!.schema.columns.map((c) => c.type)).toEqual(['float', 'string']);

    // A second version sharing two of three files: the server asks for just the new one.
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'new notes');
    const asked: string[][] = [];
    const counting = {
      ...api.data,
      missingBlobs: async (b: { sha256: string; size: number }[]) => {
        const m = await api.data.missingBlobs(b);
        asked.push(m);
        return m;
      },
    };
    const second = await addPath({ add: (input) => addVersionWith(counting, input) }, dir, {
      dataset: 'credit-s3',
      cache,
    });
    expect(second.version.number).toBe(2);
    expect(asked).toEqual([[second.version.files.find((f) => f.path === 'notes.txt')!.sha256]]);

    const dest = path.join(tmp, uniq('dest'));
    const got = await api.data.get('credit-s3@1', dest);
    expect(got.number).toBe(1);
    expect(fs.readFileSync(path.join(dest, 'notes.txt'), 'utf8')).toBe('same bytes');
    expect(fs.readFileSync(path.join(dest, 'train.csv'), 'utf8')).toContain('3.5,a');
    const diff = await api.data.diff('credit-s3@1', 'credit-s3@2');
    expect(diff.changed.map((c) => c.path)).toEqual(['notes.txt']);
  });
});
