import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../core/hashing.js';
import type { BlobInfo, BlobStore } from './blob-store.js';
import { VERIFY_IN_MEMORY_BYTES } from './verified-read.js';

/** A fresh, empty store plus the backend-specific ways to reach behind it. */
export interface BlobStoreHarness {
  store: BlobStore;
  /** Changes one stored byte of a blob behind the store's back; the size stays the same. */
  corrupt(sha256: string): Promise<void>;
  /** Removes whatever the harness created (temp folders, prefixes); the suite closes the store itself. */
  dispose?(): Promise<void>;
}

const MiB = 1024 * 1024;
const LARGE_BYTES = 64 * MiB;

/**
 * The promises every BlobStore backend keeps, written once and run against each backend
 * (local-blob-store.test.ts, s3-blob-store.test.ts).
 */
export function runBlobStoreContract(name: string, makeStore: () => Promise<BlobStoreHarness>): void {
  describe(`BlobStore contract: ${name}`, () => {
    const open: BlobStoreHarness[] = [];
    const fresh = async () => {
      const harness = await makeStore();
      open.push(harness);
      return harness;
    };
    afterEach(async () => {
      for (const h of open.splice(0)) {
        await h.store.close();
        await h.dispose?.();
      }
    });

    it('round-trips bytes, strings (as UTF-8), streams and the empty blob', async () => {
      const { store } = await fresh();
      const bytes = randomBytes(1000);
      const chunks = [randomBytes(70_000), randomBytes(3), Buffer.alloc(0), randomBytes(200_000)];
      const cases: [Parameters<BlobStore['put']>[0], Buffer][] = [
        [bytes, bytes],
        [new Uint8Array(bytes.buffer, bytes.byteOffset + 10, 100), bytes.subarray(10, 110)],
        ['héllo, wörld ✓', Buffer.from('héllo, wörld ✓', 'utf8')],
        [Readable.from(chunks), Buffer.concat(chunks)],
        ['', Buffer.alloc(0)],
      ];
      for (const [source, expected] of cases) {
        const info = await store.put(source);
        expect(info).toEqual({ sha256: sha256Hex(expected), size: expected.length });
        expect(await store.getBytes(info.sha256)).toEqual(expected);
        expect(await store.stat(info.sha256)).toEqual(info);
        expect(await store.has(info.sha256)).toBe(true);
      }
    });

    it('stores the same content once, whichever way it arrives, and put is idempotent', async () => {
      const { store } = await fresh();
      const text = 'the same bytes every time';
      const first = await store.put(text);
      const again = [
        await store.put(text),
        await store.put(Buffer.from(text)),
        await store.put(Readable.from([Buffer.from(text.slice(0, 5)), Buffer.from(text.slice(5))])),
        ...(await Promise.all([store.put(text), store.put(text), store.put(text)])),
      ];
      for (const info of again) expect(info).toEqual(first);
      expect(await listAll(store)).toEqual([first]);
      expect(await store.getBytes(first.sha256)).toEqual(Buffer.from(text));
    });

    it('streams a 64 MiB blob in and out without holding it in memory', async () => {
      const { store } = await fresh();
      const expectedHash = createHash('sha256');
      const meter = memoryMeter();
      const info = await store.put(Readable.from(generated(LARGE_BYTES, expectedHash, meter)));
      expect(info).toEqual({ sha256: expectedHash.digest('hex'), size: LARGE_BYTES });
      const readBack = createHash('sha256');
      let size = 0;
      for await (const chunk of await store.get(info.sha256)) {
        readBack.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        meter.sample();
      }
      expect(readBack.digest('hex')).toBe(info.sha256);
      expect(size).toBe(LARGE_BYTES);
      // A store that buffered the blob would grow by all 64 MiB. Streaming stays at a few MiB, though an
      // in-process S3 server and the SDK's sockets were seen to hold up to ~13 MiB between them.
      expect(meter.peakGrowth()).toBeLessThan(LARGE_BYTES / 2);
    }, 180_000);

    it('a corrupted blob is never served complete: get() fails with IntegrityError before it ends', async () => {
      const h = await fresh();
      const content = randomBytes(3 * MiB);
      const { sha256 } = await h.store.put(content);
      await h.corrupt(sha256);
      const outcome = await drain(await h.store.get(sha256));
      expect(outcome.ended).toBe(false);
      expect(outcome.error).toMatchObject({ code: 'INTEGRITY_ERROR', name: 'IntegrityError' });
      expect(outcome.bytes).toBeLessThan(content.length);
      await expect(h.store.getBytes(sha256)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
    });

    it('a corrupted small blob delivers no bytes at all', async () => {
      const h = await fresh();
      const { sha256 } = await h.store.put('a short model card');
      await h.corrupt(sha256);
      const outcome = await drain(await h.store.get(sha256));
      expect(outcome).toMatchObject({ ended: false, bytes: 0, error: { code: 'INTEGRITY_ERROR' } });
    });

    it('getVerified hands out no byte of a corrupted blob, small or large, and all of an intact one', async () => {
      const h = await fresh();
      const small = randomBytes(1000);
      const large = randomBytes(VERIFY_IN_MEMORY_BYTES + MiB);
      const keys = [(await h.store.put(small)).sha256, (await h.store.put(large)).sha256];
      // Compared by digest: a deep equality of 9 MiB buffers takes minutes.
      const served = Buffer.concat(await collect(await h.store.getVerified(keys[1]!)));
      expect(sha256Hex(served)).toBe(keys[1]);
      for (const sha256 of keys) {
        await h.corrupt(sha256);
        await expect(h.store.getVerified(sha256)).rejects.toMatchObject({
          code: 'INTEGRITY_ERROR',
          details: { sha256 },
        });
      }
      await expect(h.store.getVerified(sha256Hex('never stored'))).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('a put of the right bytes repairs a corrupted blob', async () => {
      const h = await fresh();
      const content = randomBytes(300_000);
      const { sha256 } = await h.store.put(content);
      await h.corrupt(sha256);
      await expect(h.store.getBytes(sha256)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
      expect(await h.store.put(content)).toEqual({ sha256, size: content.length });
      expect(sha256Hex(await h.store.getBytes(sha256))).toBe(sha256);
      expect(await listAll(h.store)).toEqual([{ sha256, size: content.length }]);
    });

    it('a missing blob is NotFoundError on read, undefined on stat, false on has and delete', async () => {
      const { store } = await fresh();
      const missing = sha256Hex('never stored');
      await expect(store.get(missing)).rejects.toMatchObject({ code: 'NOT_FOUND', name: 'NotFoundError' });
      await expect(store.getBytes(missing)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await store.stat(missing)).toBeUndefined();
      expect(await store.has(missing)).toBe(false);
      expect(await store.delete(missing)).toBe(false);
    });

    it('refuses keys that are not 64 lowercase hex characters with ValidationError', async () => {
      const { store } = await fresh();
      const valid = sha256Hex('x');
      const invalid = [
        '../../etc/passwd',
        valid.toUpperCase(),
        valid.slice(0, 63),
        `${valid}0`,
        '',
        `../${valid.slice(3)}`,
        `${valid.slice(0, 62)}/a`,
      ];
      const calls: ((key: string) => Promise<unknown>)[] = [
        (k) => store.get(k),
        (k) => store.getBytes(k),
        (k) => store.stat(k),
        (k) => store.has(k),
        (k) => store.delete(k),
      ];
      for (const key of invalid) {
        for (const call of calls) {
          await expect(call(key)).rejects.toMatchObject({
            code: 'VALIDATION_FAILED',
            name: 'ValidationError',
          });
        }
      }
    });

    it('list() yields exactly what was put', async () => {
      const { store } = await fresh();
      expect(await listAll(store)).toEqual([]);
      const infos = await Promise.all(['a', 'bb', 'ccc', randomBytes(100_000)].map((s) => store.put(s)));
      expect(await listAll(store)).toEqual(sortInfos(infos));
    });

    it('list() tells when each blob was written, for the grace period of gc', async () => {
      const { store } = await fresh();
      const before = Date.now() - 2_000; // S3 keeps whole seconds; clocks of a local endpoint agree with ours
      await store.put('dated');
      const listed: BlobInfo[] = [];
      for await (const info of store.list()) listed.push(info);
      expect(listed).toHaveLength(1);
      expect(listed[0]?.modifiedAt).toBeGreaterThanOrEqual(before);
      expect(listed[0]?.modifiedAt).toBeLessThanOrEqual(Date.now() + 2_000);
    });

    it('delete removes one blob and leaves the others', async () => {
      const { store } = await fresh();
      const keep = await store.put('keep me');
      const drop = await store.put('drop me');
      expect(await store.delete(drop.sha256)).toBe(true);
      expect(await store.has(drop.sha256)).toBe(false);
      await expect(store.get(drop.sha256)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await store.delete(drop.sha256)).toBe(false);
      expect(await listAll(store)).toEqual([keep]);
      expect(await store.put('drop me')).toEqual(drop);
    });

    it('putFile stores a local file as put would, and refuses what is not a regular file', async () => {
      const { store } = await fresh();
      const dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-putfile-'));
      try {
        const bytes = randomBytes(3 * 1024 * 1024 + 5);
        await writeFile(path.join(dir, 'f.bin'), bytes);
        const info = await store.putFile(path.join(dir, 'f.bin'));
        expect(info).toEqual({ sha256: sha256Hex(bytes), size: bytes.length });
        expect((await store.getBytes(info.sha256)).equals(bytes)).toBe(true);
        expect(await store.putFile(path.join(dir, 'f.bin'))).toEqual(info);
        await expect(store.putFile(path.join(dir, 'missing.bin'))).rejects.toThrow();
        await expect(store.putFile(dir)).rejects.toThrow();
        expect(await listAll(store)).toEqual([info]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('putFiles stores many files as putFile would, in input order, each distinct content once', async () => {
      const { store } = await fresh();
      const dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-putfiles-'));
      try {
        const already = await store.put('stored before the batch');
        // Small, empty, above the folder store's one-pass size, repeated, and already stored.
        const contents = [
          randomBytes(1000),
          Buffer.alloc(0),
          randomBytes(5 * MiB + 3),
          Buffer.from('twice'),
          Buffer.from('twice'),
          Buffer.from('stored before the batch'),
        ];
        const files = contents.map((_, i) => path.join(dir, `f${i}.bin`));
        for (const [i, bytes] of contents.entries()) await writeFile(files[i]!, bytes);
        const seen: number[] = [];
        const infos = await store.putFiles(files, { onStored: (i) => void seen.push(i) });
        expect(infos).toEqual(contents.map((b) => ({ sha256: sha256Hex(b), size: b.length })));
        expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
        for (const [i, bytes] of contents.entries())
          expect((await store.getBytes(infos[i]!.sha256)).equals(bytes)).toBe(true);
        expect(await listAll(store)).toEqual(
          sortInfos([...new Map(infos.map((b) => [b.sha256, b])).values()]),
        );
        expect(infos[5]).toEqual(already);
        expect(await store.putFiles([])).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('putFiles refuses a missing file or a folder, and stores nothing of it', async () => {
      const { store } = await fresh();
      const dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-putfiles-'));
      try {
        await writeFile(path.join(dir, 'ok.bin'), 'fine');
        await expect(store.putFiles([path.join(dir, 'missing.bin')])).rejects.toThrow();
        await expect(store.putFiles([dir])).rejects.toThrow('not a regular file');
        expect(await listAll(store)).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('a source that fails midway stores nothing and rejects with its error', async () => {
      const { store } = await fresh();
      async function* failing() {
        yield randomBytes(100_000);
        throw new Error('upstream went away');
      }
      await expect(store.put(Readable.from(failing()))).rejects.toThrow('upstream went away');
      expect(await listAll(store)).toEqual([]);
    });
  });
}

async function listAll(store: BlobStore): Promise<BlobInfo[]> {
  const out: BlobInfo[] = [];
  for await (const { sha256, size } of store.list()) out.push({ sha256, size });
  return sortInfos(out);
}

function sortInfos(infos: BlobInfo[]): BlobInfo[] {
  return [...infos].sort((a, b) => a.sha256.localeCompare(b.sha256));
}

/** Reads a stream to its end or its error, counting bytes rather than keeping them. */
async function collect(stream: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return chunks;
}

async function drain(stream: Readable): Promise<{ bytes: number; ended: boolean; error?: unknown }> {
  let bytes = 0;
  let ended = false;
  stream.on('end', () => {
    ended = true;
  });
  try {
    for await (const chunk of stream) bytes += (chunk as Buffer).length;
    return { bytes, ended };
  } catch (error) {
    return { bytes, ended, error };
  }
}

/** Fresh pseudo-random chunks, generated on demand so the test itself never holds the blob. */
async function* generated(total: number, hash: ReturnType<typeof createHash>, meter: { sample(): void }) {
  const seed = randomBytes(64 * 1024);
  for (let offset = 0, i = 0; offset < total; offset += seed.length, i++) {
    const chunk = Buffer.from(seed.subarray(0, Math.min(seed.length, total - offset)));
    chunk.writeUInt32BE(i, 0);
    hash.update(chunk);
    meter.sample();
    yield chunk;
  }
}

/**
 * Peak growth of live JS heap plus Buffer memory, sampled as the test streams. Garbage would blur it (a
 * streaming store churns through 64 MiB of short-lived chunks), so each sample collects garbage first.
 */
function memoryMeter() {
  const gc = exposeGc();
  const used = () => {
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const start = used();
  let peak = start;
  let calls = 0;
  return {
    sample() {
      if (++calls % 64 === 0) peak = Math.max(peak, used());
    },
    peakGrowth: () => peak - start,
  };
}

// V8 lets a running process turn the flag on; a fresh context then carries the gc() function.
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
