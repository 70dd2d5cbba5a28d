import fs from 'node:fs';
import path from 'node:path';
import type { ScannedFile } from './scan-path.js';

interface Entry {
  ino: number;
  size: number;
  mtimeMs: number;
  sha256: string;
}

const FILE_NAME = 'data-hash-cache.tsv';

/**
 * size + mtime + inode -> sha256 of local files, kept in the workspace home so `data status` and `data add`
 * do not re-read unchanged files. One line per file: ino, size, mtime (ms, full precision), sha256, path.
 * Written to a temp file and renamed, so a crash or a concurrent CLI never leaves a torn cache; the
 * worst case is a lost update, which only costs a re-hash.
 */
export class HashCache {
  private readonly file: string;
  private entries: Map<string, Entry> | undefined;
  private dirty = false;

  constructor(home: string) {
    this.file = path.join(home, FILE_NAME);
  }

  private load(): Map<string, Entry> {
    if (this.entries) return this.entries;
    const map = new Map<string, Entry>();
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      // No cache yet (or unreadable): everything is hashed.
    }
    for (const line of text.split('\n')) {
      const parts = line.split('\t');
      if (parts.length < 5) continue;
      const [ino, size, mtime, sha256] = parts as [string, string, string, string];
      // A path may itself hold a tab: everything after the fourth field is the path.
      map.set(parts.slice(4).join('\t'), {
        ino: Number(ino),
        size: Number(size),
        mtimeMs: Number(mtime),
        sha256,
      });
    }
    this.entries = map;
    return map;
  }

  /** The cached sha256 when the file's inode, size and mtime are unchanged. */
  lookup(f: ScannedFile): string | undefined {
    const e = this.load().get(f.localPath);
    return e && e.ino === f.ino && e.size === f.size && e.mtimeMs === f.mtimeMs ? e.sha256 : undefined;
  }

  set(f: ScannedFile, sha256: string): void {
    const map = this.load();
    const e = map.get(f.localPath);
    if (e && e.sha256 === sha256 && e.ino === f.ino && e.size === f.size && e.mtimeMs === f.mtimeMs) return;
    map.set(f.localPath, { ino: f.ino, size: f.size, mtimeMs: f.mtimeMs, sha256 });
    this.dirty = true;
  }

  /** Writes the cache if anything changed. */
  save(): void {
    if (!this.dirty || !this.entries) return;
    const lines: string[] = [];
    for (const [p, e] of this.entries) {
      if (!p.includes('\n')) lines.push(`${e.ino}\t${e.size}\t${e.mtimeMs}\t${e.sha256}\t${p}`);
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${lines.join('\n')}\n`);
    fs.renameSync(tmp, this.file);
    this.dirty = false;
  }
}
