import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../core/hashing.js';
import { runBlobStoreContract } from './blob-store.contract.js';
import { S3BlobStore, type S3BlobStoreOptions } from './s3-blob-store.js';

const BUCKET = 'sextant-test';
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const MiB = 1024 * 1024;

let server: S3rver;
let serverDir: string;
let spoolDir: string;
let endpoint: string;
let admin: S3Client;

// One in-process s3rver on loopback for the whole file; each store gets its own prefix, so tests are isolated.
beforeAll(async () => {
  serverDir = await mkdtemp(path.join(os.tmpdir(), 'sextant-s3rver-'));
  spoolDir = await mkdtemp(path.join(os.tmpdir(), 'sextant-s3-spool-'));
  server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: serverDir,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  admin = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
});

afterAll(async () => {
  admin?.destroy();
  await server?.close();
  await rm(serverDir, { recursive: true, force: true });
  await rm(spoolDir, { recursive: true, force: true });
});

function makeStore(extra: Partial<S3BlobStoreOptions> = {}): S3BlobStore {
  return new S3BlobStore({
    bucket: BUCKET,
    prefix: `t/${randomBytes(6).toString('hex')}`,
    endpoint,
    region: 'us-east-1',
    credentials,
    forcePathStyle: true,
    tmpDir: spoolDir,
    // Small enough that the contract's 64 MiB blob goes up in parts.
    multipartThresholdBytes: 16 * MiB,
    partSizeBytes: 8 * MiB,
    ...extra,
  });
}

/** Rewrites a stored object with one byte flipped, straight through the S3 API. */
async function flipMiddleByte(store: S3BlobStore, sha256: string): Promise<void> {
  const Key = store.keyOf(sha256);
  const res = await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
  const bytes = Buffer.from(await res.Body!.transformToByteArray());
  const at = Math.floor(bytes.length / 2);
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: bytes }));
}

runBlobStoreContract('S3 (s3rver)', async () => {
  const store = makeStore();
  return { store, corrupt: (sha256) => flipMiddleByte(store, sha256) };
});

describe('S3BlobStore', () => {
  it('keeps objects at <prefix>/ab/cd/<sha256> and leaves no spool files behind', async () => {
    const store = makeStore({ prefix: '/team-a//blobs/' });
    const { sha256 } = await store.put('layout');
    expect(store.keyOf(sha256)).toBe(`team-a/blobs/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`);
    expect(store.url).toBe(`s3://${BUCKET}/team-a/blobs/`);
    const res = await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: store.keyOf(sha256) }));
    expect(await res.Body!.transformToString()).toBe('layout');
    expect(await readdir(spoolDir)).toEqual([]);
    await store.delete(sha256);
    await store.close();
  });

  it('uploads large blobs in parts and small ones in one request, and skips blobs already there', async () => {
    const client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const commands: string[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = makeStore({ client, multipartThresholdBytes: 6 * MiB, partSizeBytes: 5 * MiB });
    const big = randomBytes(12 * MiB);
    const { sha256 } = await store.put(big);
    expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
    expect(commands).toContain('CompleteMultipartUploadCommand');
    expect((await store.getBytes(sha256)).equals(big)).toBe(true);

    commands.length = 0;
    await store.put('small');
    await store.put('small');
    expect(commands.filter((c) => c === 'PutObjectCommand')).toHaveLength(1);
    expect(commands).not.toContain('CreateMultipartUploadCommand');
    // The store was handed this client, so closing the store must leave it usable.
    await store.close();
    expect(await store.has(sha256Hex('small'))).toBe(true);
    client.destroy();
  });

  it('an upload the server stored differently (aws-chunked framing kept verbatim) fails at put time', async () => {
    // The SDK's default CRC trailers frame part uploads as aws-chunked, which s3rver stores as is.
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
    const store = makeStore({ client, multipartThresholdBytes: 1, partSizeBytes: 5 * MiB });
    const content = randomBytes(100_000);
    await expect(store.put(content)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
    expect(await store.has(sha256Hex(content))).toBe(false);
    client.destroy();
  });

  it('list() skips objects under the prefix that are not blobs', async () => {
    const store = makeStore();
    const info = await store.put('a real blob');
    const stray = sha256Hex('stray');
    const foreign = [`${store.prefix}notes.txt`, `${store.prefix}ab/cd/${stray}`, `${store.prefix}${stray}`];
    for (const Key of foreign) await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x' }));
    const listed = [];
    for await (const { sha256, size } of store.list()) listed.push({ sha256, size });
    expect(listed).toEqual([info]);
    for (const Key of foreign) await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
    await store.close();
  });

  it('a missing bucket is an error, not a missing blob', async () => {
    const store = makeStore({ bucket: 'no-such-bucket' });
    await expect(store.get(sha256Hex('x'))).rejects.toMatchObject({ name: 'NoSuchBucket' });
    await store.close();
  });
});
