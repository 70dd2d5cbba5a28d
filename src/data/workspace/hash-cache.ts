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
    // indexOf rather than split: this runs once per cached file, 100,000s of times for a big folder.
    let at = 0;
    while (at < text.length) {
      let end = text.indexOf('\n', at);
      if (end === -1) end = text.length;
      const t1 = text.indexOf('\t', at);
      const t2 = text.indexOf('\t', t1 + 1);
      const t3 = text.indexOf('\t', t2 + 1);
      const t4 = text.indexOf('\t', t3 + 1);
      // The path comes last, so one holding a tab still reads whole.
      if (t1 !== -1 && t2 !== -1 && t3 !== -1 && t4 !== -1 && t4 < end) {
        map.set(text.slice(t4 + 1, end), {
          ino: Number(text.slice(at, t1)),
          size: Number(text.slice(t1 + 1, t2)),
          mtimeMs: Number(text.slice(t2 + 1, t3)),
          sha256: text.slice(t3 + 1, t4),
        });
      }
      at = end + 1;
    }
    this.entries = map;
    return map;
  }

  /** Reads the cache file now rather than on the first lookup (to overlap it with other work). */
  preload(): void {
    this.load();
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
