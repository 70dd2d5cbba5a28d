import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, readFileSync } from 'node:fs';
import {
  chmod,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../core/hashing.js';
import { runBlobStoreContract } from './blob-store.contract.js';
import { LocalBlobStore } from './local-blob-store.js';

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'sextant-blobs-'));
}

/** Flips the middle byte of the stored file (blobs are read-only on disk, so unlock it first). */
async function flipMiddleByte(file: string): Promise<void> {
  await chmod(file, 0o644);
  const handle = await open(file, 'r+');
  try {
    const { size } = await handle.stat();
    const at = Math.floor(size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

runBlobStoreContract('local folder', async () => {
  const root = await tempDir();
  const store = new LocalBlobStore(root);
  return {
    store,
    corrupt: (sha256) => flipMiddleByte(store.pathOf(sha256)),
    dispose: () => rm(root, { recursive: true, force: true }),
  };
});

describe('LocalBlobStore', () => {
  let root: string;
  let outside: string;
  let store: LocalBlobStore;

  beforeEach(async () => {
    root = await tempDir();
    outside = await tempDir();
    store = new LocalBlobStore(path.join(root, 'blobs'));
  });
  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('lays blobs out as <root>/ab/cd/<sha256>, read-only, with no temp files left behind', async () => {
    const { sha256 } = await store.put('layout');
    const file = path.join(store.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
    expect(store.pathOf(sha256)).toBe(file);
    expect(await readFile(file, 'utf8')).toBe('layout');
    expect((await stat(file)).mode & 0o222).toBe(0);
    await store.put('layout');
    async function* failing() {
      yield Buffer.from('half a blob');
      throw new Error('source failed');
    }
    await expect(store.put(Readable.from(failing()))).rejects.toThrow('source failed');
    expect(await readdir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('putting content already stored refreshes its time, so gc spares a deduplicated upload', async () => {
    const { sha256 } = await store.put('again');
    const old = new Date(Date.now() - 86_400_000);
    await utimes(store.pathOf(sha256), old, old);
    await store.put('again');
    expect((await stat(store.pathOf(sha256))).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it('a symlink planted at a blob path is refused, never followed, even when its target would verify', async () => {
    const secret = 'content that lives outside the store';
    const sha256 = sha256Hex(secret);
    await writeFile(path.join(outside, 'secret'), secret);
    const planted = store.pathOf(sha256);
    await mkdir(path.dirname(planted), { recursive: true });
    await symlink(path.join(outside, 'secret'), planted);

    await expect(store.get(sha256)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
    await expect(store.getBytes(sha256)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
    await expect(store.stat(sha256)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
    expect(await collect(store)).toEqual([]);
  });

  it('put over a planted symlink replaces the link and never writes through it', async () => {
    const content = 'the real blob';
    const sha256 = sha256Hex(content);
    await writeFile(path.join(outside, 'victim'), 'do not touch');
    const planted = store.pathOf(sha256);
    await mkdir(path.dirname(planted), { recursive: true });
    await symlink(path.join(outside, 'victim'), planted);

    expect(await store.put(content)).toEqual({ sha256, size: content.length });
    expect(await readFile(path.join(outside, 'victim'), 'utf8')).toBe('do not touch');
    expect(await store.getBytes(sha256)).toEqual(Buffer.from(content));
  });

  it('a symlinked shard folder is refused for reads and writes', async () => {
    const content = 'sharded';
    const sha256 = sha256Hex(content);
    await mkdir(store.root, { recursive: true });
    await symlink(outside, path.join(store.root, sha256.slice(0, 2)));

    await expect(store.put(content)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
    await expect(store.get(sha256)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
    expect(await readdir(outside)).toEqual([]);
  });

  it('putFiles refuses a symlinked shard folder and a symlink given as a file, writing nothing outside', async () => {
    const content = 'sharded in a batch';
    const sha256 = sha256Hex(content);
    await writeFile(path.join(outside, 'source'), content);
    await mkdir(store.root, { recursive: true });
    await symlink(outside, path.join(store.root, sha256.slice(0, 2)));
    await expect(store.putFiles([path.join(outside, 'source')])).rejects.toMatchObject({
      code: 'INTEGRITY_ERROR',
    });
    expect((await readdir(outside)).sort()).toEqual(['source']);

    await symlink(path.join(outside, 'source'), path.join(root, 'link'));
    await expect(store.putFiles([path.join(root, 'link')])).rejects.toThrow('not a regular file');
  });

  it('putFiles over a planted symlink or a truncated blob repairs it, never writing through the link', async () => {
    const planted = 'planted batch blob';
    const truncated = 'y'.repeat(10_000);
    await writeFile(path.join(outside, 'victim'), 'do not touch');
    const link = store.pathOf(sha256Hex(planted));
    await mkdir(path.dirname(link), { recursive: true });
    await symlink(path.join(outside, 'victim'), link);
    const { sha256 } = await store.put(truncated);
    await chmod(store.pathOf(sha256), 0o644);
    await writeFile(store.pathOf(sha256), 'y');

    await writeFile(path.join(outside, 'a'), planted);
    await writeFile(path.join(outside, 'b'), truncated);
    await store.putFiles([path.join(outside, 'a'), path.join(outside, 'b')]);
    expect(await readFile(path.join(outside, 'victim'), 'utf8')).toBe('do not touch');
    expect((await store.getBytes(sha256Hex(planted))).toString()).toBe(planted);
    expect((await store.getBytes(sha256)).toString()).toBe(truncated);
    expect(await readdir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('putFiles stores content already stored intact by reading it, not writing it again', async () => {
    const { sha256 } = await store.put('kept once');
    const before = await stat(store.pathOf(sha256));
    const old = new Date(Date.now() - 86_400_000);
    await utimes(store.pathOf(sha256), old, old);
    await writeFile(path.join(outside, 'same'), 'kept once');
    expect(await store.putFiles([path.join(outside, 'same')])).toEqual([{ sha256, size: 9 }]);
    const after = await stat(store.pathOf(sha256));
    // The same inode: no copy was renamed over it; its time refreshed for gc's grace period.
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it('putFiles keeps input order over more files than copy workers and lanes, sharing equal content', async () => {
    const contents = Array.from({ length: 40 }, (_, i) =>
      i % 10 === 9 ? Buffer.from('repeated') : randomBytes((i * 7919) % 70_000),
    );
    const files = contents.map((_, i) => path.join(outside, `f${i}`));
    for (const [i, bytes] of contents.entries()) await writeFile(files[i]!, bytes);
    const infos = await store.putFiles(files);
    expect(infos).toEqual(contents.map((b) => ({ sha256: sha256Hex(b), size: b.length })));
    expect((await collect(store)).sort()).toEqual([...new Set(infos.map((i) => i.sha256))].sort());
    expect(await readdir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('putFiles shows a blob under its key only once its bytes are synced: a failed sync leaves none', async () => {
    const contents = Array.from({ length: 20 }, (_, i) => randomBytes(100 + i));
    const files = contents.map((_, i) => path.join(outside, `s${i}`));
    for (const [i, bytes] of contents.entries()) await writeFile(files[i]!, bytes);
    const seen: { group: string[]; stored: string[]; temps: number }[] = [];
    // 8 files in flight: the first group syncs while the next is copied; the second group's sync fails.
    class FailingSync extends LocalBlobStore {
      protected override async syncTempCopies(fds: number[]): Promise<void> {
        seen.push({
          group: fds.map((fd) => sha256Hex(readFileSync(fd))),
          stored: await collect(this),
          temps: (await readdir(path.join(this.root, 'tmp'))).length,
        });
        if (seen.length === 1) return super.syncTempCopies(fds);
        for (const fd of fds) closeSync(fd);
        throw new Error('injected sync failure');
      }
    }
    const failing = new FailingSync(store.root, { putFilesLanes: 8 });
    await expect(failing.putFiles(files)).rejects.toThrow('injected sync failure');
    expect(seen.length).toBe(2);
    // Each group was copied whole before its sync, and nothing of it was under its key yet.
    for (const s of seen) {
      expect(s.temps).toBeGreaterThanOrEqual(s.group.length);
      for (const key of s.group) expect(s.stored).not.toContain(key);
    }
    expect(seen[0]!.stored).toEqual([]);
    // The synced group stays (gc reclaims it); the failed one, and whatever was copied after it, is
    // neither stored nor left as temp files.
    expect((await collect(store)).sort()).toEqual([...seen[0]!.group].sort());
    expect(await readdir(path.join(store.root, 'tmp'))).toEqual([]);
    // The same store, synced normally, takes the rest and keeps the input order.
    const narrow = new LocalBlobStore(store.root, { putFilesLanes: 3 });
    expect(await narrow.putFiles(files)).toEqual(
      contents.map((b) => ({ sha256: sha256Hex(b), size: b.length })),
    );
    expect(await readdir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it.runIf(existsSync('/proc/self/status'))(
    'putFiles refuses a file that changes while it is read, and stores nothing of it',
    async () => {
      await writeFile(path.join(outside, 'fine'), 'fine');
      // /proc files say they hold 0 bytes, then yield more: what a file being written to looks like.
      await expect(store.putFiles([path.join(outside, 'fine'), '/proc/self/status'])).rejects.toMatchObject({
        code: 'CONFLICT',
      });
      // At most the good file got in (a failure stops the batch, not the copies already under way).
      for (const stored of await collect(store)) expect(stored).toBe(sha256Hex('fine'));
      expect(await readdir(path.join(store.root, 'tmp'))).toEqual([]);
    },
  );

  it('put repairs a blob whose stored file was truncated', async () => {
    const content = 'x'.repeat(10_000);
    const { sha256 } = await store.put(content);
    await chmod(store.pathOf(sha256), 0o644);
    await writeFile(store.pathOf(sha256), 'x'.repeat(10));
    await expect(store.getBytes(sha256)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
    await store.put(content);
    expect((await store.getBytes(sha256)).toString()).toBe(content);
  });
});

async function collect(store: LocalBlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list()) out.push(info.sha256);
  return out;
}
