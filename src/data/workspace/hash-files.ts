import { ValidationError } from '../../core/errors.js';
import type { HashCache } from './hash-cache.js';
import { hashFilesInPool } from './hash-pool.js';
import type { ScannedFile } from './scan-path.js';

export interface HashOptions {
  cache?: HashCache;
  /** Worker threads (default: one per available core). */
  threads?: number;
  /**
   * Files larger than this that the cache does not know are left unhashed: a local add then hashes
   * them while copying them into the blob store, reading each byte once.
   */
  leaveUnhashedAbove?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface HashedScan extends ScannedFile {
  /** Unset only for files left to be hashed while they are stored (see leaveUnhashedAbove). */
  sha256?: string;
  cached: boolean;
}

/**
 * Fills in the sha256 of scanned files (the same objects, returned typed as hashed): from the cache when
 * size, mtime and inode match, else by reading them on the worker pool.
 */
export async function hashScanned(files: ScannedFile[], opts: HashOptions = {}): Promise<HashedScan[]> {
  // Filled in place: a status over 100,000 files should not copy 100,000 objects.
  const out = files as HashedScan[];
  for (const f of out) {
    const sha256 = opts.cache?.lookup(f);
    f.cached = sha256 !== undefined;
    if (sha256 !== undefined) f.sha256 = sha256;
  }
  const todo = out.filter(
    (f) => !f.cached && !(opts.leaveUnhashedAbove !== undefined && f.size > opts.leaveUnhashedAbove),
  );
  const total = todo.reduce((n, f) => n + f.size, 0);
  let done = 0;
  const hashed = await hashFilesInPool(todo, {
    ...(opts.threads ? { threads: opts.threads } : {}),
    onBytes: (b) => {
      done += b;
      opts.onProgress?.(done, total);
    },
  });
  hashed.forEach((h, i) => {
    const f = todo[i]!;
    if (h.size !== f.size) {
      throw new ValidationError(`path: '${f.path}' changed while it was being read; try again`, {
        field: 'path',
        path: f.path,
      });
    }
    f.sha256 = h.sha256;
    opts.cache?.set(f, h.sha256);
  });
  return out;
}
