import type { DataStatus, DatasetVersion, VersionSummary } from '../dataset.schema.js';
import type { HashCache } from './hash-cache.js';
import { hashScanned } from './hash-files.js';
import type { ManifestCache } from './manifest-cache.js';
import { scanPathAsync } from './scan-path.js';
import { computeStatus, type IndexedManifest, indexManifest } from './status.js';

/** What status needs of the client's DataApi (structural: the data domain never imports the client). */
export interface StatusSource {
  listVersions(dataset: string): Promise<VersionSummary[]>;
  show(ref: string): Promise<DatasetVersion>;
}

async function latestManifest(
  api: StatusSource,
  dataset: string,
  manifests: ManifestCache | undefined,
): Promise<IndexedManifest | undefined> {
  const versions = await api.listVersions(dataset).catch((err: { code?: string }) => {
    if (err?.code === 'NOT_FOUND') return [];
    throw err;
  });
  const head = versions[0];
  if (!head) return undefined;
  let files = manifests?.read(head.digest);
  if (!files) {
    files = (await api.show(`${dataset}@${head.number}`)).files;
    manifests?.write(head.digest, files);
  }
  return indexManifest({ number: head.number, digest: head.digest, files });
}

/**
 * `data status` for the CLI and the benchmark. The stat walk runs in a child process while this thread
 * finds the dataset's latest version (its manifest from the local manifest cache when seen before) and
 * reads the hash cache; then only files the cache does not vouch for (changed size, mtime or inode) are
 * read and hashed, on the worker pool.
 */
export async function statusOfPath(
  api: StatusSource,
  dataset: string,
  target: string,
  opts: {
    cache: HashCache;
    manifests?: ManifestCache;
    threads?: number;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<DataStatus> {
  const scanning = scanPathAsync(target);
  // Settled either way before awaiting the walk, so a failing walk never leaves this rejection unhandled.
  const base = await latestManifest(api, dataset, opts.manifests).then(
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
