import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../../blobs/index.js';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import type { DatasetVersion, VersionTable } from '../dataset.schema.js';

/** The table of a version a command means: the one named, or the only one. */
export function pickTable(v: DatasetVersion, tablePath: string | undefined): VersionTable {
  const label = `${v.dataset}@${v.number}`;
  if (tablePath !== undefined) {
    const t = v.tables.find((x) => x.path === tablePath);
    if (!t) {
      throw new NotFoundError('table', `${label}/${tablePath}`);
    }
    return t;
  }
  const [only, ...rest] = v.tables;
  if (!only)
    throw new ValidationError(`${label} holds no table (CSV, Parquet or JSON Lines file)`, { field: 'ref' });
  if (rest.length > 0) {
    throw new ValidationError(
      `${label} holds ${v.tables.length} tables; say which: ${v.tables.map((t) => t.path).join(', ')}`,
      {
        field: 'table',
      },
    );
  }
  return only;
}

/**
 * Copies a version's table from the blob store to a temporary file (DuckDB reads paths), verified on
 * the way by the store, runs `fn` on it and removes it.
 */
export async function withTableFile<T>(
  blobs: BlobStore,
  v: DatasetVersion,
  table: VersionTable,
  fn: (file: string) => Promise<T>,
): Promise<T> {
  const entry = v.files.find((f) => f.path === table.path);
  if (!entry) throw new NotFoundError('file', `${v.dataset}@${v.number}/${table.path}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-table-'));
  try {
    // Keep the extension: DuckDB and the format detection go by it.
    const file = path.join(dir, `table${path.extname(table.path)}`);
    await pipeline(await blobs.get(entry.sha256), createWriteStream(file));
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
