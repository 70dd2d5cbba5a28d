import { closeSync, constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, opendir, rename, rm, unlink, utimes } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { mapLimit } from '../core/concurrency.js';
import { IntegrityError, NotFoundError } from '../core/errors.js';
import { isSha256Hex } from '../core/hashing.js';
import {
  type BlobInfo,
  type BlobSource,
  type BlobStore,
  type PutFilesOptions,
  shardedKey,
} from './blob-store.js';
import { DurableDirs, fsyncDirectory } from './durable-dirs.js';
import { GroupCommit } from './group-commit.js';
import { HashCopyPool, type HashedCopy, syncAndClose } from './hash-copy-pool.js';
import { copyToTempFile, type SpooledFile, spoolToTempFile } from './spool-file.js';
import { drainVerified, streamOf, VERIFY_IN_MEMORY_BYTES } from './verified-read.js';
import { readFully, verifyingStream } from './verifying-stream.js';

const SHARD = /^[0-9a-f]{2}$/;
// Blobs are immutable; read-only files make an accidental in-place edit fail loudly.
const BLOB_MODE = 0o444;
// The read buffer of each copy worker (it hashes the file through it; the kernel copies the bytes).
const READ_BUFFER_BYTES = 4 * 1024 * 1024;
// Files in flight at once in putFiles (queued for a copy worker, copied, or waiting for their group's sync):
// enough that the workers always have a file to take while a group syncs, and for the disk to group the
// commits; it also bounds the temp fds open at once, for an add of any size.
const PUT_FILES_LANES = 64;
// Shard folders made and renames in flight at once (each a round trip through libuv's pool).
const RENAME_CONCURRENCY = 32;
// Copy workers: reading and hashing are CPU work (the source is usually in the page cache), one per core.
const COPY_THREADS = Math.max(1, Math.min(4, availableParallelism()));

/**
 * Blobs in a local folder, laid out as `<root>/ab/cd/<sha256>`. Writes land in `<root>/tmp/` (same file
 * system, so the final rename is atomic) and are fsynced before and after the rename: a crash leaves either
 * the whole blob or none of it. Nothing in the store is ever followed through a symlink.
 */
export class LocalBlobStore implements BlobStore {
  readonly kind = 'file' as const;
  readonly root: string;
  private readonly tmpDir: string;
  private ready: Promise<void> | undefined;

  private readonly putFilesLanes: number;

  /** @param opts.putFilesLanes files in flight at once in putFiles */
  constructor(root: string, opts: { putFilesLanes?: number } = {}) {
    this.root = path.resolve(root);
    this.putFilesLanes = opts.putFilesLanes ?? PUT_FILES_LANES;
    this.tmpDir = path.join(this.root, 'tmp');
  }

  /** Where a blob lives on disk (validates the key first). */
  pathOf(sha256: string): string {
    return path.join(this.root, ...shardedKey(sha256).split('/'));
  }

  async put(source: BlobSource): Promise<BlobInfo> {
    await this.init();
    const dirs = new DurableDirs();
    const info = await this.keep(await spoolToTempFile(source, this.tmpDir, BLOB_MODE), dirs);
    await dirs.sync();
    return info;
  }

  async putFile(filePath: string): Promise<BlobInfo> {
    await this.init();
    const dirs = new DurableDirs();
    const info = await this.keep(await copyToTempFile(filePath, this.tmpDir, BLOB_MODE), dirs);
    await dirs.sync();
    return info;
  }

  /**
   * Worker threads hash the files and have the kernel copy them into temp files (the hashing spread over
   * the cores). Copied files are synced in groups (group commit): a group's temp copies are fdatasynced
   * together (all in flight on libuv's pool, so the disk groups the commits), renamed under their keys,
   * and their folders fsynced, while the workers copy the files that form the next group. Writeback
   * starts with the first file copied and overlaps the hashing of the rest (2 GiB stays under the
   * kernel's background-writeback threshold on a machine with 20 GiB of memory: nothing would be written
   * back before a sync); a group is as large as what was copied while the previous one synced. Only a
   * synced copy is renamed under its key: a blob is never visible under its key before its bytes are
   * durable. The shard folders' parents (changed group after group) and any folder changed again are
   * fsynced once each at the end, before this resolves. A failure stops taking more files; blobs already
   * renamed in stay until gc finds them unreferenced, and no temp file is left.
   */
  async putFiles(filePaths: string[], opts: PutFilesOptions = {}): Promise<BlobInfo[]> {
    await this.init();
    if (filePaths.length === 0) return [];
    const dirs = new DurableDirs();
    const copier = new HashCopyPool(Math.min(COPY_THREADS, filePaths.length), {
      root: this.root,
      tmpDir: this.tmpDir,
      mode: BLOB_MODE,
      bufferBytes: READ_BUFFER_BYTES,
    });
    const out = new Array<BlobInfo>(filePaths.length);
    const groups = new GroupCommit<{ copy: HashedCopy; index: number }>(
      async (group) => {
        const copied = group.map((g) => g.copy);
        await this.syncAndRename(copied, dirs);
        const infos = await this.keepExisting(
          copied,
          group.map((g) => filePaths[g.index]!),
          dirs,
        );
        infos.forEach((info, i) => {
          out[group[i]!.index] = info;
          opts.onStored?.(group[i]!.index, info);
        });
      },
      (group) => this.discard(group.map((g) => g.copy)),
    );
    let next = 0;
    let failed = false;
    // Each lane takes the next file, waits for its copy, then for its group's sync.
    const lane = async () => {
      while (!failed && next < filePaths.length) {
        const index = next++;
        try {
          await groups.add({ copy: await copier.copy(filePaths[index]!), index });
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    try {
      // Every lane settles before the workers stop: a copy under way when another file failed still ends
      // renamed in or removed, never as a temp file (or an open fd) left behind.
      const lanes = await Promise.allSettled(
        Array.from({ length: Math.min(this.putFilesLanes, filePaths.length) }, lane),
      );
      const failure = lanes.find((l) => l.status === 'rejected');
      if (failure) throw failure.reason;
      await dirs.sync((list) => copier.fsyncDirectories(list));
      return out;
    } finally {
      await copier.close();
    }
  }

  /** Closes and removes temp copies that will never be synced. */
  private async discard(copied: HashedCopy[]): Promise<void> {
    const fresh = copied.flatMap((c) => (c.existed ? [] : [c]));
    for (const c of fresh) closeSync(c.fd);
    await mapLimit(fresh, RENAME_CONCURRENCY, (c) => rm(c.tmpPath, { force: true }));
  }

  /**
   * Syncs a group's new copies together, renames each under its key (removed on a failure), then fsyncs
   * the folders they landed in.
   */
  private async syncAndRename(copied: HashedCopy[], dirs: DurableDirs): Promise<void> {
    const fresh = copied.flatMap((c) => (c.existed ? [] : [c]));
    try {
      // The shard folders are made while the data syncs; both settle (every fd closed) before the renames.
      const ready = await Promise.allSettled([
        this.syncTempCopies(fresh.map((c) => c.fd)),
        mapLimit(fresh, RENAME_CONCURRENCY, (c) => this.prepareShard(c.sha256, dirs)),
      ]);
      for (const r of ready) if (r.status === 'rejected') throw r.reason;
      await mapLimit(fresh, RENAME_CONCURRENCY, async (c) => {
        const target = this.pathOf(c.sha256);
        await rename(c.tmpPath, target);
        dirs.add(path.dirname(target));
      });
    } catch (err) {
      await mapLimit(fresh, RENAME_CONCURRENCY, (c) => rm(c.tmpPath, { force: true }));
      throw err;
    }
    // The blobs' own folders are fsynced now, while the workers copy the next group: an `ab/cd/` folder
    // rarely gets a second blob of the batch, and after the last copy these fsyncs (about one per small
    // blob) were a tail that nothing overlapped. The `ab/` folders, changed by group after group, and any
    // folder changed again, are fsynced once at the end.
    await dirs.syncNow(fresh.map((c) => path.dirname(this.pathOf(c.sha256))));
  }

  /** A group's results; content the workers found already stored is checked (and repaired if damaged). */
  private keepExisting(copied: HashedCopy[], filePaths: string[], dirs: DurableDirs): Promise<BlobInfo[]> {
    return mapLimit(
      copied.map((copy, i) => ({ copy, filePath: filePaths[i]! })),
      RENAME_CONCURRENCY,
      async ({ copy, filePath }) => {
        const info = { sha256: copy.sha256, size: copy.size };
        if (!copy.existed) return info;
        if (
          (await this.prepareShard(info.sha256, dirs)) === 'existed' &&
          (await this.refreshIfIntact(info))
        ) {
          // Another writer may have just renamed it in, its folder not yet fsynced: this batch syncs it too.
          dirs.add(path.dirname(this.pathOf(info.sha256)));
          return info;
        }
        // Damaged (or gone since the worker looked): stored again the way putFile stores, repairing it.
        return this.keep(await copyToTempFile(filePath, this.tmpDir, BLOB_MODE), dirs);
      },
    );
  }

  /**
   * Makes a group's temp copies durable and closes them (each closed even when a sync fails), all in
   * flight at once: the disk groups their commits. Its own method so a test can fail it, and see that
   * nothing copied shows under its key.
   */
  protected async syncTempCopies(fds: number[]): Promise<void> {
    const settled = await Promise.allSettled(fds.map((fd) => syncAndClose(fd)));
    const failure = settled.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
  }

  /**
   * Moves a hashed temp copy under its key, or drops it when the content is already stored. The folders
   * it changed are marked in `dirs`; the caller fsyncs them before it reports the blob stored.
   */
  private async keep(spooled: SpooledFile, dirs: DurableDirs): Promise<BlobInfo> {
    const info = { sha256: spooled.sha256, size: spooled.size };
    try {
      if ((await this.prepareShard(info.sha256, dirs)) === 'existed' && (await this.refreshIfIntact(info))) {
        await spooled.discard();
        dirs.add(path.dirname(this.pathOf(info.sha256)));
        return info;
      }
      const target = this.pathOf(info.sha256);
      await rename(spooled.path, target);
      dirs.add(path.dirname(target));
      return info;
    } catch (err) {
      await spooled.discard();
      throw err;
    }
  }

  /**
   * Stored once: an entry under the key that hashes to it is this content, and its time is refreshed (for
   * gc's grace period). A wrong-size, non-file or corrupted entry is damage, and renaming over it repairs
   * it (rename replaces a symlink, never writes through it). Checking costs a read, never a second write.
   */
  private async refreshIfIntact(info: BlobInfo): Promise<boolean> {
    const target = this.pathOf(info.sha256);
    const existing = await lstatOrUndefined(target);
    if (!(existing?.isFile() && existing.size === info.size && (await this.intact(info.sha256))))
      return false;
    const now = new Date();
    await utimes(target, now, now).catch(() => undefined);
    return true;
  }

  /**
   * Makes sure both shard folders of a key exist as real directories (a symlink would lead out of the
   * store). 'created' when the inner one was just made, so nothing can be stored in it yet. A new folder
   * is an entry in its parent that a crash could lose: the parent is marked for fsync (the root only
   * when a first-level shard was made: once the 256 of them exist, no blob costs a root fsync).
   */
  private async prepareShard(sha256: string, dirs: DurableDirs): Promise<'existed' | 'created'> {
    const outer = path.join(this.root, sha256.slice(0, 2));
    const inner = path.join(outer, sha256.slice(2, 4));
    if (dirs.knownShards.has(inner)) return 'existed';
    if (!dirs.knownShards.has(outer)) {
      if (await this.makeShard(outer, sha256)) dirs.add(this.root);
      dirs.knownShards.add(outer);
    }
    const made = await this.makeShard(inner, sha256);
    if (made) dirs.add(outer);
    dirs.knownShards.add(inner);
    return made ? 'created' : 'existed';
  }

  /** True when this call made the folder (or lost a race to make it: either way its parent changed). */
  private async makeShard(dir: string, sha256: string): Promise<boolean> {
    const st = await lstatOrUndefined(dir);
    if (st !== undefined) {
      if (!st.isDirectory()) throw notADirectory(this.root, dir, sha256);
      return false;
    }
    try {
      await mkdir(dir);
      return true;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
    }
    if (!(await lstatOrUndefined(dir))?.isDirectory()) throw notADirectory(this.root, dir, sha256);
    return true;
  }

  async get(sha256: string): Promise<Readable> {
    const file = this.pathOf(sha256);
    await this.assertShardsAreDirectories(sha256);
    const entry = await lstatOrUndefined(file);
    if (entry === undefined) throw new NotFoundError('blob', sha256);
    if (!entry.isFile()) throw notARegularFile(sha256);
    let handle: FileHandle;
    try {
      // O_NOFOLLOW closes the gap between the lstat above and the open: a symlink swapped in meanwhile fails.
      handle = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw new NotFoundError('blob', sha256);
      if (errnoOf(err) === 'ELOOP') throw notARegularFile(sha256);
      throw err;
    }
    return verifyingStream(handle.createReadStream(), sha256, 'file');
  }

  async getVerified(sha256: string): Promise<Readable> {
    const info = await this.stat(sha256);
    if (info === undefined) throw new NotFoundError('blob', sha256);
    if (info.size <= VERIFY_IN_MEMORY_BYTES) return streamOf(await this.getBytes(sha256));
    // A pre-check pass, then the stream (verifying again: the file could change in between).
    await drainVerified(await this.get(sha256));
    return this.get(sha256);
  }

  async getBytes(sha256: string): Promise<Buffer> {
    return readFully(await this.get(sha256));
  }

  /** True when the stored blob hashes to its key. */
  private async intact(sha256: string): Promise<boolean> {
    try {
      await drainVerified(await this.get(sha256));
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'INTEGRITY_ERROR') return false;
      throw err;
    }
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    const file = this.pathOf(sha256);
    await this.assertShardsAreDirectories(sha256);
    const entry = await lstatOrUndefined(file);
    if (entry === undefined) return undefined;
    if (!entry.isFile()) throw notARegularFile(sha256);
    return { sha256, size: entry.size };
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== undefined;
  }

  async delete(sha256: string): Promise<boolean> {
    const file = this.pathOf(sha256);
    await this.assertShardsAreDirectories(sha256);
    try {
      // unlink removes a planted symlink itself, never its target.
      await unlink(file);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return false;
      throw err;
    }
    await fsyncDirectory(path.dirname(file));
    return true;
  }

  async *list(): AsyncIterable<BlobInfo> {
    // Dirent types come from lstat semantics: symlinked folders and files are skipped, not followed.
    for (const outer of await subdirectories(this.root)) {
      for (const inner of await subdirectories(path.join(this.root, outer))) {
        const dir = await opendirOrUndefined(path.join(this.root, outer, inner));
        if (dir === undefined) continue;
        for await (const entry of dir) {
          const name = entry.name;
          if (!entry.isFile() || !isSha256Hex(name) || !name.startsWith(outer + inner)) continue;
          const st = await lstatOrUndefined(path.join(dir.path, name));
          if (st?.isFile()) yield { sha256: name, size: st.size, modifiedAt: st.mtimeMs };
        }
      }
    }
  }

  async close(): Promise<void> {}

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.tmpDir, { recursive: true });
    })().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  // mkdir and open would follow a symlinked shard folder right out of the store.
  private async assertShardsAreDirectories(sha256: string): Promise<void> {
    const outer = path.join(this.root, sha256.slice(0, 2));
    for (const dir of [outer, path.join(outer, sha256.slice(2, 4))]) {
      const st = await lstatOrUndefined(dir);
      if (st === undefined) return;
      if (!st.isDirectory()) throw notADirectory(this.root, dir, sha256);
    }
  }
}

function notADirectory(root: string, dir: string, sha256: string): IntegrityError {
  return new IntegrityError(`blob store shard ${path.relative(root, dir)} is not a directory`, { sha256 });
}

function notARegularFile(sha256: string): IntegrityError {
  return new IntegrityError(`blob ${sha256} is not a regular file in the store (symlinks are refused)`, {
    sha256,
  });
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

async function opendirOrUndefined(p: string) {
  try {
    return await opendir(p);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

async function subdirectories(p: string): Promise<string[]> {
  const dir = await opendirOrUndefined(p);
  if (dir === undefined) return [];
  const names: string[] = [];
  for await (const entry of dir) if (entry.isDirectory() && SHARD.test(entry.name)) names.push(entry.name);
  return names;
}
