import fs from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../core/errors.js';

/** A file found by a scan: its path in the version, where it is on disk, and what the hash cache keys on. */
export interface ScannedFile {
  /** Relative path inside the version, '/'-separated. */
  path: string;
  /** Absolute path on disk (a symlink inside the folder is resolved to its target). */
  localPath: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface ScanResult {
  /** The folder scanned, or the file's folder when a single file was named. */
  root: string;
  files: ScannedFile[];
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

function toScanned(rel: string, localPath: string, st: fs.Stats): ScannedFile {
  return { path: rel, localPath, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
}

/**
 * Lists the files of a file or folder, sorted by path. The walk is synchronous on purpose: `data status`
 * on 100,000 files is a stat walk, and one thread doing lstat in a loop is faster than 100,000 promises.
 * A symlink whose target lies outside the folder is refused (the version would hold files the folder does
 * not); one pointing inside is followed for files and skipped for folders (their files are already in).
 */
export function scanPath(target: string): ScanResult {
  const abs = path.resolve(target);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') {
      throw new ValidationError(`path: '${target}' does not exist`, { field: 'path', path: target });
    }
    throw err;
  }
  if (st.isFile()) {
    const real = fs.realpathSync(abs);
    return { root: path.dirname(abs), files: [toScanned(path.basename(abs), real, st)] };
  }
  if (!st.isDirectory()) {
    throw new ValidationError(`path: '${target}' is neither a file nor a folder`, {
      field: 'path',
      path: target,
    });
  }
  const root = fs.realpathSync(abs);
  const files: ScannedFile[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const local = path.join(dir, entry.name);
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(local, relPath);
      else if (entry.isFile()) files.push(toScanned(relPath, local, fs.lstatSync(local)));
      else if (entry.isSymbolicLink()) {
        let real: string;
        try {
          real = fs.realpathSync(local);
        } catch {
          throw new ValidationError(`path: symlink '${relPath}' points to nothing`, {
            field: 'path',
            path: relPath,
          });
        }
        if (real !== root && !real.startsWith(root + path.sep)) {
          throw new ValidationError(
            `path: symlink '${relPath}' points outside the folder being added (to ${real}); copy the file in or remove the link`,
            { field: 'path', path: relPath },
          );
        }
        const target = fs.statSync(real);
        if (target.isFile()) files.push(toScanned(relPath, real, target));
      }
      // Sockets, FIFOs and devices hold no versionable content; they are skipped.
    }
  };
  walk(root, '');
  if (files.length === 0) throw new ValidationError(`path: '${target}' holds no files`, { field: 'path' });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { root, files };
}
