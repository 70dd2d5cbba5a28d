import type { AddResult, VersionMetadata } from '../dataset.schema.js';
import type { HashCache } from './hash-cache.js';
import { type HashedScan, hashScanned } from './hash-files.js';
import type { ManifestCache } from './manifest-cache.js';
import { scanPath } from './scan-path.js';

/** What addPath needs of the client's DataApi (structural: the data domain never imports the client). */
export interface VersionAdder {
  add(
    input: VersionMetadata & {
      dataset: string;
      files: { path: string; localPath: string; size: number; sha256?: string }[];
      onProgress?: (p: { phase: string; done: number; total: number }) => void;
    },
  ): Promise<AddResult>;
}

export interface AddPathOptions extends VersionMetadata {
  dataset: string;
  cache?: HashCache;
  /** Keeps the new version's manifest, so the next `data status` need not fetch it. */
  manifests?: ManifestCache;
  threads?: number;
  /** Uncached files above this size are hashed while they are stored (local workspaces: one read). */
  hashWhileStoringAbove?: number;
  onProgress?: (phase: 'hashing' | 'storing', done: number, total: number) => void;
}

/**
 * `data add` from a path, for the CLI, the demo and the benchmark: scan, hash on the worker pool (or
 * from the cache), store what is missing, commit; then remember the hashes learned while storing.
 */
export async function addPath(api: VersionAdder, target: string, opts: AddPathOptions): Promise<AddResult> {
  const { dataset, cache, manifests, threads, hashWhileStoringAbove, onProgress, ...meta } = opts;
  const scan = scanPath(target);
  let hashed: HashedScan[] = [];
  try {
    hashed = await hashScanned(scan.files, {
      ...(cache ? { cache } : {}),
      ...(threads ? { threads } : {}),
      ...(hashWhileStoringAbove !== undefined ? { leaveUnhashedAbove: hashWhileStoringAbove } : {}),
      onProgress: (d, t) => onProgress?.('hashing', d, t),
    });
    const result = await api.add({
      ...meta,
      dataset,
      files: hashed.map((f) => ({
        path: f.path,
        localPath: f.localPath,
        size: f.size,
        ...(f.sha256 ? { sha256: f.sha256 } : {}),
      })),
      onProgress: (p) => onProgress?.('storing', p.done, p.total),
    });
    const byPath = new Map(result.version.files.map((f) => [f.path, f.sha256]));
    for (const f of hashed) {
      const sha = byPath.get(f.path);
      if (!f.sha256 && sha) cache?.set(f, sha);
    }
    manifests?.write(result.version.digest, result.version.files);
    return result;
  } finally {
    cache?.save();
  }
}
