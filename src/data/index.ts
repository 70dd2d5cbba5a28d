import type { DomainDeps } from '../core/domain-deps.js';
import { createVersionReader } from './version-read.service.js';
import { createVersionWriter } from './version-write.service.js';

export * from './dataset.schema.js';
/** Parses `<dataset>[@<n|tag|digest|latest>]` into its parts. */
export { formatRef, parseDatasetRef } from './dataset-ref.js';
/** The canonical manifest order and the version digest computed from it. */
export { manifestDigest, sortManifest } from './manifest.js';
/** The process's shared DuckDB (a fresh connection per call) and its SQL string literal quoting. */
export { ident, lit, openConnection, withConnection } from './tables/duckdb-engine.js';
/**
 * Parquet files written by DuckDB: from JSON lines with the given columns, streamed (bounded memory),
 * or from rows held in memory, in their order, through DuckDB's appender.
 */
export {
  convertJsonlToParquet,
  type JsonlColumn,
  type ParquetCell,
  type ParquetRowColumn,
  type ParquetRowType,
  writeParquetRows,
} from './tables/parquet-writer.js';
/** Reads one stored table of a dataset version into memory (from the blob store, no workspace). */
export { readStoredTable } from './version-tables.js';
/** `data add` from a path: scan, hash, store what is missing, commit. */
export { type AddPathOptions, addPath, type VersionAdder } from './workspace/add-path.js';
/** The size+mtime+inode -> sha256 cache kept in the workspace home. */
export { HashCache } from './workspace/hash-cache.js';
/** Hashes files on a worker-thread pool, reusing the size+mtime+inode cache. */
export { type HashOptions, hashScanned } from './workspace/hash-files.js';
/** Manifests of versions already seen, kept by digest in the workspace home. */
export { ManifestCache } from './workspace/manifest-cache.js';
/** One progress line for long adds (rendered by the CLI on stderr). */
export { formatBytes, formatProgress } from './workspace/progress.js';
/** Scans a file or folder into manifest entries (symlinks out of the folder refused). */
export { type ScannedFile, type ScanResult, scanPath, scanPathAsync } from './workspace/scan-path.js';
/** `data status`: a folder against a dataset's latest version. */
export { computeStatus, type IndexedManifest, indexManifest } from './workspace/status.js';
/** `data status` from a path: the stat walk overlapped with reading the manifest and the cache. */
export { type StatusSource, statusOfPath } from './workspace/status-path.js';

/**
 * Builds the data domain. `versions` resolves refs and reads versions; `writer` stores blobs and commits
 * versions; `linkForRunInput` is the callback tracking's logInputs uses to fill dataset_version_id.
 */
export function createDataDomain(deps: DomainDeps) {
  const reader = createVersionReader(deps);
  const writer = createVersionWriter(deps, reader);
  return {
    versions: {
      resolve: reader.resolve,
      get: reader.get,
      findById: reader.findById,
      listDatasets: reader.listDatasets,
      listVersions: reader.listVersions,
      openFile: reader.openFile,
      diff: reader.diff,
      create: writer.create,
      tag: writer.tag,
      missingBlobs: writer.missingBlobs,
      putBlob: writer.putBlob,
      putLocalFile: writer.putLocalFile,
      putLocalFiles: writer.putLocalFiles,
    },
    linkForRunInput: reader.linkForRunInput,
  };
}

export type DataDomain = ReturnType<typeof createDataDomain>;
