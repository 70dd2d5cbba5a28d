import type { DataStatus } from '../dataset.schema.js';
import type { HashedScan } from './hash-files.js';

/** Added, changed and removed paths of a hashed folder against a version's manifest. */
export function computeStatus(
  dataset: string,
  base: { number: number; digest: string; files: { path: string; sha256: string }[] } | undefined,
  local: HashedScan[],
): DataStatus {
  const known = new Map((base?.files ?? []).map((f) => [f.path, f.sha256]));
  const added: string[] = [];
  const changed: string[] = [];
  let unchanged = 0;
  for (const f of local) {
    const sha = known.get(f.path);
    if (sha === undefined) added.push(f.path);
    else if (sha === f.sha256) unchanged++;
    else changed.push(f.path);
  }
  const here = new Set(local.map((f) => f.path));
  const removed = [...known.keys()].filter((p) => !here.has(p));
  return {
    dataset,
    base: base ? { number: base.number, digest: base.digest } : null,
    added,
    changed,
    removed,
    unchanged,
    cached: local.filter((f) => f.cached).length,
  };
}
