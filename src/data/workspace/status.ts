import type { DataStatus } from '../dataset.schema.js';
import type { HashedScan } from './hash-files.js';

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Added, changed and removed paths of a hashed folder against a version's manifest. Two passes and no
 * copies: on 100,000 files every extra pass over the list shows in `data status`'s time.
 */
export function computeStatus(
  dataset: string,
  base: { number: number; digest: string; files: { path: string; sha256: string }[] } | undefined,
  local: HashedScan[],
): DataStatus {
  const known = new Map<string, string>();
  for (const f of base?.files ?? []) known.set(f.path, f.sha256);
  const added: string[] = [];
  const changed: string[] = [];
  let unchanged = 0;
  let cached = 0;
  for (const f of local) {
    if (f.cached) cached++;
    const sha = known.get(f.path);
    if (sha === undefined) added.push(f.path);
    else {
      known.delete(f.path);
      if (sha === f.sha256) unchanged++;
      else changed.push(f.path);
    }
  }
  // What is left of the manifest was not found in the folder.
  const removed = [...known.keys()];
  return {
    dataset,
    base: base ? { number: base.number, digest: base.digest } : null,
    added: added.sort(byCodeUnits),
    changed: changed.sort(byCodeUnits),
    removed: removed.sort(byCodeUnits),
    unchanged,
    cached,
  };
}
