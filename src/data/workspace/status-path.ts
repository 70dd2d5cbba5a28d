import type { DataStatus } from '../dataset.schema.js';
import type { HashCache } from './hash-cache.js';
import { hashScanned } from './hash-files.js';
import { scanPathAsync } from './scan-path.js';
import { computeStatus } from './status.js';

/** The manifest `data status` compares against, or undefined when the dataset has no version yet. */
export type ManifestSource = () => Promise<
  { number: number; digest: string; files: { path: string; sha256: string }[] } | undefined
>;

/**
 * `data status` for the CLI and the benchmark. The stat walk runs in a child process while this thread
 * reads the dataset's latest manifest and the hash cache; then only files the cache does not vouch for
 * (changed size, mtime or inode) are read and hashed, on the worker pool.
 */
export async function statusOfPath(
  dataset: string,
  target: string,
  latest: ManifestSource,
  opts: { cache: HashCache; threads?: number; onProgress?: (done: number, total: number) => void },
): Promise<DataStatus> {
  const scanning = scanPathAsync(target);
  // Settled either way before awaiting the walk, so a failing walk never leaves this rejection unhandled.
  const base = await latest().then(
    (v) => ({ ok: true as const, v }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  opts.cache.preload();
  const scan = await scanning;
  if (!base.ok) throw base.err;
  try {
    const hashed = await hashScanned(scan.files, {
      cache: opts.cache,
      ...(opts.threads ? { threads: opts.threads } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    return computeStatus(dataset, base.v, hashed);
  } finally {
    opts.cache.save();
  }
}
