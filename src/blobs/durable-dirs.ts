import { type FileHandle, open } from 'node:fs/promises';
import { mapLimit } from '../core/concurrency.js';

/*
 * A blob renamed into its folder survives a crash only once that folder is fsynced, and a new shard
 * folder only once its parent is. One put fsyncs them at once; a batch of puts collects them here and
 * fsyncs each folder once at the end, before it reports anything stored: with thousands of small blobs
 * the folder fsyncs were most of an add's cost, and after the first journal commit the rest are cheap.
 */

// Platforms that cannot fsync a directory (Windows, some network file systems) answer with one of these.
export const DIR_FSYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'ENOTSUP']);
// Folder fsyncs in flight at once: the disk groups concurrent ones into fewer journal commits.
const DIR_FSYNC_CONCURRENCY = 16;

/** Folders whose entries changed, made durable together by `sync()`. */
export class DurableDirs {
  private readonly dirs = new Set<string>();
  /** Shard folders seen to be real directories (or made) during this batch: checked once, not per blob. */
  readonly knownShards = new Set<string>();

  /** Marks a folder whose entries changed (a blob renamed in, a shard folder made in it). */
  add(dir: string): void {
    this.dirs.add(dir);
  }

  /**
   * Fsyncs every marked folder once; afterwards nothing is marked. `fsyncAll` replaces the way they are
   * fsynced (a batch hands them to its worker threads).
   */
  async sync(fsyncAll?: (dirs: string[]) => Promise<void>): Promise<void> {
    const dirs = [...this.dirs];
    this.dirs.clear();
    if (fsyncAll) await fsyncAll(dirs);
    else await mapLimit(dirs, DIR_FSYNC_CONCURRENCY, fsyncDirectory);
  }

  /**
   * Fsyncs these folders now, if marked, and unmarks them: a batch makes the folders it will not touch
   * again durable while it still copies, rather than all of them after its last copy. A folder changed
   * again afterwards is marked again (an fsync covers only the entries changed before it started).
   */
  async syncNow(dirs: Iterable<string>): Promise<void> {
    const marked = [...new Set(dirs)].filter((d) => this.dirs.delete(d));
    await mapLimit(marked, DIR_FSYNC_CONCURRENCY, fsyncDirectory);
  }
}

/** Fsyncs one folder, so the entries in it survive a crash; a no-op where folders cannot be fsynced. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    if (!DIR_FSYNC_UNSUPPORTED.has(code)) throw err;
  } finally {
    await handle?.close();
  }
}
