import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HashCache } from './hash-cache.js';
import { hashScanned } from './hash-files.js';
import { hashFilesInPool } from './hash-pool.js';
import { scanPath, walkInJs } from './scan-path.js';
import { computeStatus, indexManifest } from './status.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-ws-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function folder(files: Record<string, string | Buffer>): string {
  const root = path.join(tmp, `f${n++}`);
  for (const [p, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), body);
  }
  return root;
}
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

describe('scanPath', () => {
  it('lists files with relative / paths in one sorted order, a single file by its name', () => {
    const root = folder({ 'b.txt': 'b', 'a/z.txt': 'z', 'a/b/c.txt': 'c' });
    expect(
      scanPath(root)
        .files.map((f) => f.path)
        .sort(),
    ).toEqual(['a/b/c.txt', 'a/z.txt', 'b.txt']);
    const one = scanPath(path.join(root, 'b.txt'));
    expect(one.files).toHaveLength(1);
    expect(one.files[0]).toMatchObject({ path: 'b.txt', size: 1 });
  });

  it('refuses a missing path, an empty folder, and a symlink leading out of the folder', () => {
    expect(() => scanPath(path.join(tmp, 'nope'))).toThrow(/does not exist/);
    const empty = path.join(tmp, `empty${n++}`);
    fs.mkdirSync(empty);
    expect(() => scanPath(empty)).toThrow(/holds no files/);
    const outside = folder({ 'secret.txt': 's' });
    const root = folder({ 'a.txt': 'a' });
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'leak'));
    expect(() => scanPath(root)).toThrow(/symlink 'leak' points outside the folder/);
    const dangling = folder({ 'a.txt': 'a' });
    fs.symlinkSync(path.join(tmp, 'gone'), path.join(dangling, 'dead'));
    expect(() => scanPath(dangling)).toThrow(/points to nothing/);
  });

  it('follows a symlink to a file inside the folder and skips one to a folder inside it', () => {
    const root = folder({ 'data/x.csv': 'x' });
    fs.symlinkSync(path.join(root, 'data/x.csv'), path.join(root, 'alias.csv'));
    fs.symlinkSync(path.join(root, 'data'), path.join(root, 'data-link'));
    const files = scanPath(root).files.sort((x, y) => (x.path < y.path ? -1 : 1));
    expect(files.map((f) => f.path)).toEqual(['alias.csv', 'data/x.csv']);
    expect(files[0]!.localPath).toBe(files[1]!.localPath);
  });
  it('the portable JS walk and the find walk see the same files, sizes, mtimes and inodes', () => {
    const root = folder({ 'b.txt': 'b', 'a/z.txt': 'zz', 'a/b/c d.txt': 'ccc', 'tab\tname.txt': 't' });
    fs.symlinkSync(path.join(root, 'b.txt'), path.join(root, 'link.txt'));
    const sorted = walkInJs(fs.realpathSync(root)).sort((x, y) => (x.path < y.path ? -1 : 1));
    expect(scanPath(root).files.sort((x, y) => (x.path < y.path ? -1 : 1))).toEqual(sorted);
    expect(sorted.map((f) => f.path)).toEqual([
      'a/b/c d.txt',
      'a/z.txt',
      'b.txt',
      'link.txt',
      'tab\tname.txt',
    ]);
  });
});

describe('hashing', () => {
  it('the pool hashes many files of many sizes exactly as sha256 does, in input order', async () => {
    const bodies = [
      Buffer.alloc(0),
      randomBytes(1),
      randomBytes(5 * 1024 * 1024 + 3),
      ...Array.from({ length: 150 }, (_, i) => randomBytes(i * 97)),
    ];
    const root = folder(Object.fromEntries(bodies.map((b, i) => [`f${i}`, b])));
    const files = bodies.map((b, i) => ({ localPath: path.join(root, `f${i}`), size: b.length }));
    const out = await hashFilesInPool(files, { threads: 2 });
    expect(out.map((o) => o.sha256)).toEqual(bodies.map((b) => sha(b)));
    await expect(hashFilesInPool([{ localPath: path.join(root, 'missing'), size: 1 }])).rejects.toThrow(
      /cannot read/,
    );
  });

  it('a saved cache is reused by the next process, and an edited file is hashed again', async () => {
    const root = folder({ 'a.txt': 'one', 'b.txt': 'two' });
    const home = path.join(tmp, `home${n++}`);
    const c1 = new HashCache(home);
    await hashScanned(scanPath(root).files, { cache: c1 });
    c1.save();
    // Poison the cached hash of a.txt: if the cache is trusted (file unchanged) the poisoned value comes back.
    const file = path.join(home, 'data-hash-cache.tsv');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(sha('one'), 'f'.repeat(64)));
    const again = await hashScanned(scanPath(root).files, { cache: new HashCache(home) });
    expect(Object.fromEntries(again.map((f) => [f.path, [f.sha256, f.cached]]))).toEqual({
      'a.txt': ['f'.repeat(64), true],
      'b.txt': [sha('two'), true],
    });
    fs.writeFileSync(path.join(root, 'a.txt'), 'ONE!');
    const edited = await hashScanned(scanPath(root).files, { cache: new HashCache(home) });
    expect(edited.find((f) => f.path === 'a.txt')).toMatchObject({ sha256: sha('ONE!'), cached: false });
  });

  it('big uncached files can be left for the store to hash while copying', async () => {
    const root = folder({ 'big.bin': randomBytes(2048), 'small.txt': 's' });
    const out = await hashScanned(scanPath(root).files, { leaveUnhashedAbove: 1024 });
    expect(Object.fromEntries(out.map((f) => [f.path, f.sha256]))).toEqual({
      'big.bin': undefined,
      'small.txt': sha('s'),
    });
  });
});

describe('computeStatus', () => {
  it('reports added, changed, removed and unchanged paths against a manifest', () => {
    const base = {
      number: 4,
      digest: 'd',
      files: [
        { path: 'same', sha256: 'x' },
        { path: 'edit', sha256: 'y' },
        { path: 'gone', sha256: 'z' },
      ],
    };
    const local = [
      { path: 'same', sha256: 'x', cached: true },
      { path: 'edit', sha256: 'Y', cached: false },
      { path: 'new', sha256: 'n', cached: false },
    ].map((f) => ({ ...f, localPath: f.path, size: 1, mtimeMs: 0, ino: 0 }));
    expect(computeStatus('ds', indexManifest(base), local)).toEqual({
      dataset: 'ds',
      base: { number: 4, digest: 'd' },
      added: ['new'],
      changed: ['edit'],
      removed: ['gone'],
      unchanged: 1,
      cached: 1,
    });
    expect(computeStatus('ds', undefined, local).added).toEqual(['edit', 'new', 'same']);
  });
});
