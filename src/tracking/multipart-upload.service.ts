import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DomainDeps } from '../core/domain-deps.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { inTransaction } from '../store/index.js';
import type { ArtifactService } from './artifact.service.js';
import { normalizeArtifactPath } from './artifact-path.js';
import * as repo from './multipart-upload.repo.js';
import { findRun } from './run.repo.js';

/** MLflow's client splits a file into at most this many parts (S3's limit). */
export const MULTIPART_MAX_PARTS = 10_000;

/**
 * Multipart uploads of run artifacts (MLflow's `mpu/*`). Each part is stored as a blob when it arrives,
 * on either blob store; completing the upload streams the parts, in order, into one artifact, so no
 * part and no whole file is ever held in memory. Until then the artifact does not exist.
 */
export function createMultipartUploadService(
  { db, audit, clock, blobs }: DomainDeps,
  { artifacts }: { artifacts: Pick<ArtifactService, 'put'> },
) {
  async function requireUpload(id: string) {
    const row = await repo.findUpload({ tx: db, id });
    if (!row) throw new NotFoundError('multipart upload', id);
    return row;
  }

  /** Opens an upload of `numParts` parts to a path of an active run; returns its id. */
  async function create(input: { actor: string; runId: string; path: string; numParts: number }) {
    const path = normalizeArtifactPath(input.path);
    if (!Number.isInteger(input.numParts) || input.numParts < 1 || input.numParts > MULTIPART_MAX_PARTS) {
      throw new ValidationError(`num_parts: must be between 1 and ${MULTIPART_MAX_PARTS}`, {
        field: 'num_parts',
      });
    }
    const id = randomBytes(16).toString('hex');
    await inTransaction(db, async (tx) => {
      const run = await findRun({ tx, id: input.runId });
      if (!run) throw new NotFoundError('run', input.runId);
      if (run.lifecycle_stage !== 'active') {
        throw new ConflictError(`run '${input.runId}' must be active to add artifacts`, { field: 'run_id' });
      }
      await repo.insertUpload({
        tx,
        row: {
          id,
          run_id: input.runId,
          path,
          num_parts: input.numParts,
          created_by: input.actor,
          created_at: clock.now(),
        },
      });
      await audit.append(tx, {
        actor: input.actor,
        action: 'artifact.multipart_create',
        entityType: 'run',
        entityId: input.runId,
        details: { path, uploadId: id, numParts: input.numParts },
      });
    });
    return { uploadId: id, runId: input.runId, path };
  }

  /** Stores one part; its sha256 is the ETag the client hands back on completion. */
  async function putPart(input: {
    uploadId: string;
    partNumber: number;
    content: Readable | Uint8Array | string;
  }): Promise<{ etag: string; size: number }> {
    const upload = await requireUpload(input.uploadId);
    if (!Number.isInteger(input.partNumber) || input.partNumber < 1 || input.partNumber > upload.num_parts) {
      throw new ValidationError(`part_number: must be between 1 and ${upload.num_parts}`, {
        field: 'part_number',
      });
    }
    const blob = await blobs.put(input.content);
    await repo.upsertPart({
      tx: db,
      row: { upload_id: upload.id, part_number: input.partNumber, sha256: blob.sha256, size: blob.size },
    });
    return { etag: blob.sha256, size: blob.size };
  }

  /**
   * Joins the parts the client lists (each with the ETag it was given) into the artifact. Every part of
   * the upload must be listed once; a missing or mismatched part refuses the whole, storing nothing.
   */
  async function complete(input: {
    actor: string;
    uploadId: string;
    runId: string;
    path: string;
    parts: { partNumber: number; etag: string }[];
  }) {
    const upload = await requireUpload(input.uploadId);
    if (upload.run_id !== input.runId || upload.path !== normalizeArtifactPath(input.path)) {
      throw new ValidationError(`upload_id: upload '${input.uploadId}' is for another path`, {
        field: 'upload_id',
      });
    }
    const stored = new Map(
      (await repo.listParts({ tx: db, uploadId: upload.id })).map((p) => [p.part_number, p]),
    );
    const listed = [...input.parts].sort((a, b) => a.partNumber - b.partNumber);
    if (
      listed.length !== upload.num_parts ||
      new Set(listed.map((p) => p.partNumber)).size !== listed.length
    ) {
      throw new ValidationError(`parts: list each of the ${upload.num_parts} parts once`, { field: 'parts' });
    }
    const order = listed.map((p) => {
      const part = stored.get(p.partNumber);
      if (!part)
        throw new ValidationError(`parts: part ${p.partNumber} was never uploaded`, { field: 'parts' });
      if (p.etag.replace(/"/g, '') !== part.sha256) {
        throw new ValidationError(`parts: the etag of part ${p.partNumber} does not match the part stored`, {
          field: 'parts',
        });
      }
      return part.sha256;
    });
    async function* joined() {
      for (const sha256 of order) yield* await blobs.get(sha256);
    }
    const artifact = await artifacts.put({
      actor: input.actor,
      runId: upload.run_id,
      path: upload.path,
      content: Readable.from(joined()),
    });
    await inTransaction(db, (tx) => repo.deleteUpload({ tx, id: upload.id }));
    return artifact;
  }

  /** Drops an upload and its parts; the artifact, if any, is untouched. */
  async function abort(input: { actor: string; uploadId: string }): Promise<void> {
    await inTransaction(db, async (tx) => {
      const upload = await repo.findUpload({ tx, id: input.uploadId });
      if (!upload) throw new NotFoundError('multipart upload', input.uploadId);
      await repo.deleteUpload({ tx, id: upload.id });
      await audit.append(tx, {
        actor: input.actor,
        action: 'artifact.multipart_abort',
        entityType: 'run',
        entityId: upload.run_id,
        details: { path: upload.path, uploadId: upload.id },
      });
    });
  }

  return { create, putPart, complete, abort };
}

export type MultipartUploadService = ReturnType<typeof createMultipartUploadService>;
