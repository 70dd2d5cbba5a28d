import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type BlobStore, LocalBlobStore } from '../blobs/index.js';
import { AppError, isAppError } from '../core/errors.js';
import type { ManifestFile, VersionTable } from './dataset.schema.js';
import { detectTableFormat, profileTableFile, type ReadOptions, readTableFile } from './tables/index.js';

/**
 * Schema and profile of every table file (csv, parquet, jsonl by extension) of a manifest, read from the
 * blob store. DuckDB needs a file: a local blob is linked under its manifest name (no copy; blobs are
 * immutable and were verified when stored), an S3 blob is copied to a temp file through the verifying
 * stream. A malformed table fails the whole add with an error naming the file and line.
 */
export async function profileManifestTables(
  blobs: BlobStore,
  files: ManifestFile[],
  opts: {
    onProgress?: (done: number, total: number) => void;
    /** CSV null tokens chosen for this version (recorded in each CSV table's schema). */
    nullValues?: readonly string[] | undefined;
  } = {},
): Promise<VersionTable[]> {
  const tables = files.flatMap((f) => {
    const format = detectTableFormat(f.path);
    return format ? [{ file: f, format }] : [];
  });
  if (tables.length === 0) return [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-profile-'));
  try {
    const out: VersionTable[] = [];
    for (const [i, { file, format }] of tables.entries()) {
      // One sub-folder per table keeps the file's own name (errors name it) without collisions.
      const local = path.join(dir, String(i), path.posix.basename(file.path));
      await materialize(blobs, file.sha256, local);
      try {
        const p = await profileTableFile(local, format, { nullValues: opts.nullValues });
        out.push({ path: file.path, format, rowCount: p.rowCount, schema: p.schema, profile: p.profile });
      } catch (err) {
        throw renamed(err, local, file.path);
      }
      opts.onProgress?.(i + 1, tables.length);
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Reads one stored table of a version into memory (readTableFile's columns), linked or copied from
 * the blob store into a temp folder that is removed afterwards. For training-sized tables.
 */
export async function readStoredTable(
  blobs: BlobStore,
  file: { path: string; sha256: string },
  format: VersionTable['format'],
  opts: ReadOptions = {},
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-table-'));
  try {
    const local = path.join(dir, path.posix.basename(file.path));
    await materialize(blobs, file.sha256, local);
    try {
      return await readTableFile(local, format, opts);
    } catch (err) {
      throw renamed(err, local, file.path);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function materialize(blobs: BlobStore, sha256: string, target: string): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  if (blobs instanceof LocalBlobStore) {
    await symlink(blobs.pathOf(sha256), target);
    return;
  }
  await pipeline(await blobs.get(sha256), createWriteStream(target, { flags: 'wx' }));
}

/** The table module names the temp file; people know the file by its path in the version. */
function renamed(err: unknown, local: string, manifestPath: string): unknown {
  if (!isAppError(err)) return err;
  const message = err.message.split(local).join(manifestPath);
  const named = message.includes(manifestPath) ? message : `${manifestPath}: ${message}`;
  return new AppError(err.code, named, { ...(err.details ?? {}), path: manifestPath });
}
