import { ValidationError } from '../core/errors.js';
import { canonicalJson, sha256Hex } from '../core/hashing.js';
import type { ManifestFile } from './dataset.schema.js';

/** The manifest in its one canonical order: by path, compared as code units (the same on every platform). */
export function sortManifest(files: ManifestFile[]): ManifestFile[] {
  return files
    .map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The version digest: sha256 of the canonical JSON of the sorted manifest. Only content counts (paths,
 * sizes, hashes), so the same files give the same digest whoever adds them and with whatever metadata.
 * Null tokens chosen at add (`nullValues`) change what the tables hold, so they count too: the same
 * files read with another list are another version. Without them the digest is what it always was.
 */
export function manifestDigest(sorted: ManifestFile[], nullValues?: readonly string[]): string {
  return sha256Hex(
    canonicalJson(nullValues ? { files: sorted, nullValues: [...nullValues] } : { files: sorted }),
  );
}

/** Refuses a manifest naming one path twice, or a path that is also a folder of another. */
export function assertManifestPaths(sorted: ManifestFile[]): void {
  const paths = new Set<string>();
  for (const f of sorted) {
    if (paths.has(f.path)) {
      throw new ValidationError(`files: '${f.path}' appears twice in the manifest`, {
        field: 'files',
        path: f.path,
      });
    }
    paths.add(f.path);
  }
  for (const f of sorted) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      if (paths.has(folder)) {
        throw new ValidationError(`files: '${folder}' is both a file and the folder of '${f.path}'`, {
          field: 'files',
          path: folder,
        });
      }
    }
  }
}
