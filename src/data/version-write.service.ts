import type { Readable } from 'node:stream';
import type { BlobInfo } from '../blobs/index.js';
import { mapLimit } from '../core/concurrency.js';
import type { DomainDeps } from '../core/domain-deps.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseOrThrow } from '../core/validate.js';
import { inTransaction, isUniqueViolation, type Tx } from '../store/index.js';
import type { DatasetTable, DatasetVersionTable } from '../store/schema-data.js';
import * as repo from './dataset.repo.js';
import {
  type AddResult,
  type CreateVersionInput,
  createVersionBodySchema,
  type DatasetVersion,
  datasetNameSchema,
  datasetTagSchema,
  type ManifestFile,
  sha256Schema,
} from './dataset.schema.js';
import { assertManifestPaths, manifestDigest, sortManifest } from './manifest.js';
import { detectTableFormat } from './tables/index.js';
import type { VersionReader } from './version-read.service.js';
import { profileManifestTables } from './version-tables.js';
import { toVersion } from './version-view.js';

// Blob existence checks in flight at once (S3 answers each with a HEAD request).
const STAT_CONCURRENCY = 16;

/**
 * Writing dataset versions. Blobs go first (deduplicated by hash, outside any transaction); the version
 * is one transaction: dataset row, version, manifest, tables, parents, run link and audit entry, or
 * nothing. A failed add leaves no version; blobs it stored stay until gc finds them unreferenced.
 */
export function createVersionWriter(deps: DomainDeps, reader: VersionReader) {
  const { db, audit, clock, blobs } = deps;

  /** Which of these blobs the store lacks (absent, or stored with another size). */
  async function missingBlobs(list: { sha256: string; size: number }[]): Promise<string[]> {
    const unique = [...new Map(list.map((b) => [b.sha256, b])).values()];
    const stats = await mapLimit(unique, STAT_CONCURRENCY, (b) => blobs.stat(b.sha256));
    return unique.filter((b, i) => stats[i]?.size !== b.size).map((b) => b.sha256);
  }

  /** Stores uploaded bytes and checks they hash to the sha256 the caller announced. */
  async function putBlob(input: {
    sha256: string;
    content: Readable | Uint8Array | string;
  }): Promise<BlobInfo> {
    const expected = parseOrThrow(sha256Schema, input.sha256, 'sha256');
    return checkHash(await blobs.put(input.content), expected);
  }

  /** Stores a file of this machine (in-process adds); with a sha256 given, checks the bytes against it. */
  async function putLocalFile(input: { localPath: string; sha256?: string }): Promise<BlobInfo> {
    const info = await blobs.putFile(input.localPath);
    if (input.sha256 !== undefined && info.sha256 !== input.sha256)
      throw new ConflictError(`'${input.localPath}' changed while it was being added; try again`, {
        path: input.localPath,
      });
    return info;
  }

  /**
   * Stores many files of this machine and resolves once all are durable (in-process adds: the folder store
   * fsyncs each folder once for the whole batch). Where a sha256 is given, the bytes are checked against it.
   */
  async function putLocalFiles(
    inputs: { localPath: string; sha256?: string }[],
    onStored?: (index: number, info: BlobInfo) => void,
  ): Promise<BlobInfo[]> {
    const infos = await blobs.putFiles(
      inputs.map((f) => f.localPath),
      onStored ? { onStored } : {},
    );
    inputs.forEach((input, i) => {
      if (input.sha256 !== undefined && infos[i]!.sha256 !== input.sha256)
        throw new ConflictError(`'${input.localPath}' changed while it was being added; try again`, {
          path: input.localPath,
        });
    });
    return infos;
  }

  /** Throws, naming the first file whose content the store lacks (absent, or stored with another size). */
  async function assertStored(files: ManifestFile[]): Promise<void> {
    const stored = await mapLimit(files, STAT_CONCURRENCY, (f) => blobs.stat(f.sha256));
    const missing = files.find((f, i) => stored[i]?.size !== f.size);
    if (missing)
      throw new ValidationError(
        `files: the content of '${missing.path}' (sha256 ${missing.sha256.slice(0, 12)}…, ${missing.size} bytes) is not in the blob store (never uploaded, or removed by gc meanwhile); upload it, then add the version again`,
        { field: 'files', path: missing.path, sha256: missing.sha256 },
      );
  }

  function checkHash(info: BlobInfo, expected: string): BlobInfo {
    if (info.sha256 !== expected) {
      throw new ValidationError(
        `body: the uploaded bytes hash to ${info.sha256}, not to the sha256 ${expected} they were sent for`,
        { field: 'body', expected, actual: info.sha256 },
      );
    }
    return info;
  }

  async function existing(datasetName: string, digest: string): Promise<DatasetVersion | undefined> {
    const ds = await repo.findDatasetByName({ tx: db, name: datasetName });
    if (!ds) return undefined;
    const [row] = await repo.findVersionsByDigestPrefix({
      tx: db,
      datasetId: ds.id,
      prefix: digest,
      limit: 1,
    });
    return row?.digest === digest ? toVersion(db, row, ds.name) : undefined;
  }

  /**
   * Commits a version whose blobs are stored. The same content added again to the same dataset returns
   * the existing version with `created: false` (metadata of the second add is not applied).
   */
  async function create(
    raw: CreateVersionInput & {
      actor: string;
      dataset: string;
      onProgress?: (done: number, total: number) => void;
    },
  ): Promise<AddResult> {
    const datasetName = parseOrThrow(datasetNameSchema, raw.dataset, 'dataset');
    const { actor, dataset: _d, onProgress, ...body } = raw;
    const input = parseOrThrow(createVersionBodySchema, body);
    const files = sortManifest(input.files);
    assertManifestPaths(files);
    // Sorted and deduplicated, so that the same list written in another order is the same version.
    const nullValues = input.nullValues
      ? [...new Set(['', ...input.nullValues])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      : undefined;
    const digest = manifestDigest(files, nullValues);
    const prior = await existing(datasetName, digest);
    if (prior) return { version: prior, created: false };

    // Table files are read (profiled) before the transaction: they must be stored now. Every file is
    // checked once, inside the transaction (below): with thousands of files, a second look cost an add
    // thousands of round trips to the store.
    await assertStored(files.filter((f) => detectTableFormat(f.path) !== undefined));
    const parentIds: string[] = [];
    for (const ref of input.parents) {
      const id = (await reader.resolveRow(ref)).row.id;
      if (!parentIds.includes(id)) parentIds.push(id);
    }
    if (input.producedByRunId && !(await repo.runExists({ tx: db, runId: input.producedByRunId }))) {
      throw new NotFoundError('run', input.producedByRunId);
    }
    // Profiling reads every table (slow): done before the transaction, which holds the write lock.
    const tables = await profileManifestTables(blobs, files, {
      ...(onProgress ? { onProgress } : {}),
      nullValues,
    });

    for (let attempt = 0; ; attempt++) {
      try {
        const id = await inTransaction(db, (tx) => insert(tx));
        return { version: await reader.get(id), created: true };
      } catch (err) {
        // A concurrent add took the number, or stored the same content first: look again.
        if (!isUniqueViolation(err) || attempt >= 5) throw err;
        const again = await existing(datasetName, digest);
        if (again) return { version: again, created: false };
      }
    }

    async function insert(tx: Tx): Promise<string> {
      const now = clock.now();
      let ds: DatasetTable | undefined = await repo.findDatasetByName({ tx, name: datasetName });
      if (!ds) {
        ds = {
          id: newId('dst', now),
          name: datasetName,
          created_at: now,
          created_by: actor,
          deleted_at: null,
        };
        await repo.insertDataset({ tx, row: ds });
        await audit.append(tx, {
          actor,
          action: 'dataset.create',
          entityType: 'dataset',
          entityId: ds.id,
          after: { name: datasetName },
        });
      }
      const row: DatasetVersionTable = {
        id: newId('dsv', now),
        dataset_id: ds.id,
        number: await repo.nextVersionNumber({ tx, datasetId: ds.id }),
        digest,
        created_at: now,
        created_by: actor,
        source: input.source ?? null,
        description: input.description ?? null,
        owner: input.owner ?? null,
        license: input.license ?? null,
        pii: input.pii ? 1 : 0,
        produced_by_run_id: input.producedByRunId ?? null,
        file_count: files.length,
        total_size: files.reduce((n, f) => n + f.size, 0),
        deleted_at: null,
      };
      await repo.insertVersion({ tx, row });
      await repo.insertFiles({ tx, rows: files.map((f) => ({ version_id: row.id, ...f })) });
      // Looked at now that the rows referencing them exist: gc deletes only unreferenced blobs while it
      // holds the tables, so a blob it removed before this look is caught here, never served missing.
      await assertStored(files);
      await repo.insertTables({
        tx,
        rows: tables.map((t) => ({
          version_id: row.id,
          path: t.path,
          format: t.format,
          row_count: t.rowCount,
          schema: JSON.stringify(t.schema),
          profile: JSON.stringify(t.profile),
        })),
      });
      await repo.insertParents({ tx, versionId: row.id, parentIds });
      if (row.produced_by_run_id) {
        await repo.insertRunOutput({
          tx,
          row: {
            id: newId('inp', now),
            run_id: row.produced_by_run_id,
            direction: 'output',
            kind: 'dataset',
            name: datasetName,
            digest,
            source: row.source,
            source_type: 'sextant',
            schema: null,
            profile: null,
            tags: null,
            dataset_version_id: row.id,
            created_at: now,
          },
        });
      }
      await audit.append(tx, {
        actor,
        action: 'dataset_version.create',
        entityType: 'dataset_version',
        entityId: row.id,
        after: { ...row, parents: parentIds, tables: tables.map((t) => t.path) },
        details: { dataset: datasetName, number: row.number, digest, files: files.length },
      });
      return row.id;
    }
  }

  /** Points a tag at a version; tags move (the move is audited with the version it left). */
  async function tag(input: { actor: string; ref: string; tag: string }): Promise<DatasetVersion> {
    const tagName = parseOrThrow(datasetTagSchema, input.tag, 'tag');
    const { dataset, row } = await reader.resolveRow(input.ref);
    await inTransaction(db, async (tx) => {
      const before = await repo.findTag({ tx, datasetId: dataset.id, tag: tagName });
      if (before?.version_id === row.id) return;
      const now = clock.now();
      await repo.upsertTag({
        tx,
        datasetId: dataset.id,
        tag: tagName,
        versionId: row.id,
        at: now,
        by: input.actor,
      });
      await audit.append(tx, {
        actor: input.actor,
        action: before ? 'dataset_tag.move' : 'dataset_tag.create',
        entityType: 'dataset',
        entityId: dataset.id,
        ...(before ? { before: { tag: tagName, versionId: before.version_id } } : {}),
        after: { tag: tagName, versionId: row.id },
        details: { dataset: dataset.name, tag: tagName, number: row.number },
      });
    });
    return reader.get(row.id);
  }

  return { missingBlobs, putBlob, putLocalFile, putLocalFiles, create, tag };
}

export type VersionWriter = ReturnType<typeof createVersionWriter>;
