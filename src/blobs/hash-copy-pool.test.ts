import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../core/hashing.js';
import { HashCopyPool, syncAndClose } from './hash-copy-pool.js';

// A tiny buffer, so that files of a few bytes take the whole-file, exact-fit and multi-chunk paths.
const BUFFER = 16;

describe('HashCopyPool', () => {
  let dir: string;
  let root: string;
  let tmpDir: string;
  let pool: HashCopyPool;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-copy-pool-'));
    root = path.join(dir, 'store');
    tmpDir = path.join(root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    pool = new HashCopyPool(2, { root, tmpDir, mode: 0o444, bufferBytes: BUFFER });
  });
  afterEach(async () => {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function source(name: string, bytes: Buffer): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    return file;
  }

  it('hashes each file and leaves an exact, read-only temp copy of it: empty, under, at and over the buffer', async () => {
    const contents = [0, 1, BUFFER - 1, BUFFER, BUFFER + 1, 3 * BUFFER, 5 * BUFFER + 7].map((n) =>
      randomBytes(n),
    );
    const files = await Promise.all(contents.map((b, i) => source(`f${i}`, b)));
    const copies = await Promise.all(files.map((f) => pool.copy(f)));
    for (const [i, copy] of copies.entries()) {
      expect(copy).toMatchObject({ sha256: sha256Hex(contents[i]!), size: contents[i]!.length });
      if (copy.existed) throw new Error('nothing was stored yet');
      await syncAndClose(copy.fd);
      expect((await readFile(copy.tmpPath)).equals(contents[i]!)).toBe(true);
      expect((await stat(copy.tmpPath)).mode & 0o777).toBe(0o444);
    }
  });

  it('content already stored under its key is read, not written again, small or over the buffer', async () => {
    for (const bytes of [Buffer.from('already here'), randomBytes(3 * BUFFER + 5)]) {
      const sha256 = sha256Hex(bytes);
      const shard = path.join(root, sha256.slice(0, 2), sha256.slice(2, 4));
      await mkdir(shard, { recursive: true });
      await writeFile(path.join(shard, sha256), bytes);
      expect(await pool.copy(await source(sha256, bytes))).toEqual({
        sha256,
        size: bytes.length,
        existed: true,
      });
    }
    expect(await readdir(tmpDir)).toEqual([]);
  });

  it('refuses a folder, a symlink and a FIFO (without waiting on it), leaving no temp file', async () => {
    const target = await source('real', Buffer.from('real'));
    await symlink(target, path.join(dir, 'link'));
    await expect(pool.copy(dir)).rejects.toThrow('not a regular file');
    await expect(pool.copy(path.join(dir, 'link'))).rejects.toThrow('not a regular file');
    await expect(pool.copy(path.join(dir, 'missing'))).rejects.toThrow('not a regular file');
    if (process.platform !== 'win32') {
      execFileSync('mkfifo', [path.join(dir, 'fifo')]);
      await expect(pool.copy(path.join(dir, 'fifo'))).rejects.toThrow('not a regular file');
    }
    expect(await readdir(tmpDir)).toEqual([]);
  });

  it.runIf(existsSync('/proc/self/status'))(
    'a file whose size differs from what it said when opened is refused as changed, leaving no temp file',
    async () => {
      // Files under /proc say they hold 0 bytes and then yield more: a file changing while it is read.
      await expect(pool.copy('/proc/self/status')).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await readdir(tmpDir)).toEqual([]);
    },
  );

  it('fsyncs folders on the workers, and reports a folder that is not there', async () => {
    const dirs = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const d = path.join(dir, `d${i}`);
        await mkdir(d);
        return d;
      }),
    );
    await expect(pool.fsyncDirectories(dirs)).resolves.toBeUndefined();
    await expect(pool.fsyncDirectories([...dirs, path.join(dir, 'gone')])).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('a closed pool refuses more work', async () => {
    await pool.close();
    await expect(pool.copy(await source('late', Buffer.from('late')))).rejects.toThrow('closed');
  });
});
