import type { Readable } from 'node:stream';
import type { DomainDeps } from '../core/domain-deps.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { inTransaction } from '../store/index.js';
import { folderEntries, normalizeArtifactPath } from './artifact-path.js';
import * as repo from './logged-model.repo.js';
import type { ArtifactEntry } from './tracking.schema.js';

/**
 * The files of a logged model that has no source run (MLflow 3's `log_model` outside `start_run`):
 * named files under the model itself, bytes in the content-addressed blob store, like a run's
 * artifacts. A model produced by a run keeps its files in that run, where its lineage is; writing
 * here for such a model is refused, so a model's files never live in two places.
 */
export function createLoggedModelArtifactService({ db, audit, clock, blobs }: DomainDeps) {
  async function requireRunless(modelId: string, { write }: { write: boolean }) {
    const model = await repo.findLoggedModel({ tx: db, id: modelId });
    if (!model) throw new NotFoundError('logged model', modelId);
    if (model.source_run_id) {
      throw new ValidationError(
        `path: logged model '${modelId}' was produced by run '${model.source_run_id}'; its files are in that run's artifacts (models/${modelId})`,
        { field: 'path' },
      );
    }
    if (write && model.lifecycle_stage !== 'active') {
      throw new ConflictError(`logged model '${modelId}' is deleted`, { field: 'model_id' });
    }
    return model;
  }

  /** Streams the content into the blob store, then records it under the path (replacing an older one). */
  async function put(input: {
    actor: string;
    modelId: string;
    path: string;
    content: Readable | Uint8Array | string;
  }) {
    const path = normalizeArtifactPath(input.path);
    await requireRunless(input.modelId, { write: true });
    const blob = await blobs.put(input.content);
    await inTransaction(db, async (tx) => {
      const now = clock.now();
      const before = await repo.upsertModelArtifact({
        tx,
        row: { model_id: input.modelId, path, sha256: blob.sha256, size: blob.size, created_at: now },
      });
      await repo.updateLoggedModel({ tx, id: input.modelId, set: { updated_at: now } });
      await audit.append(tx, {
        actor: input.actor,
        action: 'logged_model.artifact_put',
        entityType: 'logged_model',
        entityId: input.modelId,
        ...(before ? { before: { path, sha256: before.sha256 } } : {}),
        after: { path, sha256: blob.sha256, size: blob.size },
        details: { path, sha256: blob.sha256, size: blob.size },
      });
    });
    return { path, sha256: blob.sha256, size: blob.size };
  }

  async function stat(modelId: string, rawPath: string) {
    const path = normalizeArtifactPath(rawPath);
    await requireRunless(modelId, { write: false });
    const row = await repo.findModelArtifact({ tx: db, modelId, path });
    if (!row) throw new NotFoundError('artifact', `${modelId}/${path}`);
    return row;
  }

  /** The file's bytes, verified whole before the stream is returned (a corrupted blob throws IntegrityError). */
  async function get(modelId: string, rawPath: string) {
    const row = await stat(modelId, rawPath);
    return {
      stream: await blobs.getVerified(row.sha256),
      size: row.size,
      sha256: row.sha256,
      path: row.path,
    };
  }

  /** One folder level, like `ls`: files directly in it and the sub-folders that hold files. */
  async function list(modelId: string, rawPath = ''): Promise<ArtifactEntry[]> {
    const folder = normalizeArtifactPath(rawPath, { allowRoot: true });
    await requireRunless(modelId, { write: false });
    const prefix = folder ? `${folder}/` : '';
    const rows = await repo.listModelArtifactsUnder({ tx: db, modelId, prefix });
    if (folder && rows.length === 0 && (await repo.findModelArtifact({ tx: db, modelId, path: folder }))) {
      throw new ValidationError(`path: '${folder}' is a file, not a folder`, { field: 'path' });
    }
    return folderEntries(rows, prefix);
  }

  /** Every file of the model, at any depth, in path order (what a registered version records). */
  async function files(modelId: string): Promise<{ path: string; sha256: string; size: number }[]> {
    await requireRunless(modelId, { write: false });
    const rows = await repo.listModelArtifactsUnder({ tx: db, modelId, prefix: '' });
    return rows.map((r) => ({ path: r.path, sha256: r.sha256, size: r.size }));
  }

  /** Forgets the path (the blob stays until an explicit gc finds it unreferenced). */
  async function remove(input: { actor: string; modelId: string; path: string }) {
    const path = normalizeArtifactPath(input.path);
    await requireRunless(input.modelId, { write: true });
    await inTransaction(db, async (tx) => {
      const before = await repo.findModelArtifact({ tx, modelId: input.modelId, path });
      if (!before) throw new NotFoundError('artifact', `${input.modelId}/${path}`);
      await repo.deleteModelArtifact({ tx, modelId: input.modelId, path });
      await audit.append(tx, {
        actor: input.actor,
        action: 'logged_model.artifact_delete',
        entityType: 'logged_model',
        entityId: input.modelId,
        before: { path, sha256: before.sha256 },
        details: { path },
      });
    });
  }

  return { put, get, stat, list, files, remove };
}

export type LoggedModelArtifactService = ReturnType<typeof createLoggedModelArtifactService>;
