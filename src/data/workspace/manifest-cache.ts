import fs from 'node:fs';
import path from 'node:path';

export type ManifestEntries = { path: string; size: number; sha256: string }[];

/**
 * Manifests of versions already seen, by digest, in the workspace home. A version never changes, so its
 * manifest can be kept for good: `data status` on a 100,000-file dataset then reads one local JSON file
 * instead of fetching (or querying) 100,000 rows each time. Only a local speed-up, like the hash cache:
 * a lost or damaged file is fetched again.
 */
export class ManifestCache {
  private readonly dir: string;

  constructor(home: string) {
    this.dir = path.join(home, 'data-manifests');
  }

  private fileOf(digest: string): string | undefined {
    return /^[0-9a-f]{64}$/.test(digest) ? path.join(this.dir, `${digest}.json`) : undefined;
  }

  read(digest: string): ManifestEntries | undefined {
    const file = this.fileOf(digest);
    if (!file) return undefined;
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      return Array.isArray(parsed) ? (parsed as ManifestEntries) : undefined;
    } catch {
      return undefined;
    }
  }

  write(digest: string, files: ManifestEntries): void {
    const file = this.fileOf(digest);
    if (!file) return;
    fs.mkdirSync(this.dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(
      tmp,
      JSON.stringify(files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 }))),
    );
    fs.renameSync(tmp, file);
  }
}
