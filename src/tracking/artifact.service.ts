import type { Readable } from 'node:stream';
import type { DomainDeps } from '../core/domain-deps.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { inTransaction } from '../store/index.js';
import * as repo from './artifact.repo.js';
import { folderEntries, normalizeArtifactPath } from './artifact-path.js';
import { findRun } from './run.repo.js';
import type { ArtifactEntry } from './tracking.schema.js';

/** Run artifacts: named files whose bytes live in the content-addressed blob store. */
export function createArtifactService({ db, audit, clock, blobs }: DomainDeps) {
  async function requireRun(runId: string, { active }: { active: boolean }) {
    const run = await findRun({ tx: db, id: runId });
    if (!run) throw new NotFoundError('run', runId);
    if (active && run.lifecycle_stage !== 'active') {
      throw new ConflictError(`run '${runId}' must be active to add artifacts`, { field: 'run_id' });
    }
    return run;
  }

  /** Streams the content into the blob store, then records it under the path (replacing an older one). */
  async function put(input: {
    actor: string;
    runId: string;
    path: string;
    content: Readable | Uint8Array | string;
  }) {
    const path = normalizeArtifactPath(input.path);
    await requireRun(input.runId, { active: true });
    const blob = await blobs.put(input.content);
    const now = clock.now();
    await inTransaction(db, async (tx) => {
      const before = await repo.upsertArtifact({
        tx,
        row: { run_id: input.runId, path, sha256: blob.sha256, size: blob.size, created_at: now },
      });
      await audit.append(tx, {
        actor: input.actor,
        action: 'artifact.put',
        entityType: 'run',
        entityId: input.runId,
        ...(before ? { before: { path, sha256: before.sha256 } } : {}),
        after: { path, sha256: blob.sha256, size: blob.size },
        details: { path, sha256: blob.sha256, size: blob.size },
      });
    });
    return { path, sha256: blob.sha256, size: blob.size };
  }

  async function stat(runId: string, rawPath: string) {
    const path = normalizeArtifactPath(rawPath);
    await requireRun(runId, { active: false });
    const row = await repo.findArtifact({ tx: db, runId, path });
    if (!row) throw new NotFoundError('artifact', `${runId}/${path}`);
    return row;
  }

  /** The artifact's bytes, verified whole before the stream is returned (a corrupted blob throws IntegrityError). */
  async function get(
    runId: string,
    rawPath: string,
  ): Promise<{ stream: Readable; size: number; sha256: string; path: string }> {
    const row = await stat(runId, rawPath);
    return {
      stream: await blobs.getVerified(row.sha256),
      size: row.size,
      sha256: row.sha256,
      path: row.path,
    };
  }

  /** One folder level, like `ls`: files directly in it and the sub-folders that hold files. */
  async function list(runId: string, rawPath = ''): Promise<ArtifactEntry[]> {
    const folder = normalizeArtifactPath(rawPath, { allowRoot: true });
    await requireRun(runId, { active: false });
    const prefix = folder ? `${folder}/` : '';
    const rows = await repo.listArtifactsUnder({ tx: db, runId, prefix });
    if (folder && rows.length === 0) {
      const exact = await repo.findArtifact({ tx: db, runId, path: folder });
      if (exact) throw new ValidationError(`path: '${folder}' is a file, not a folder`, { field: 'path' });
    }
    return folderEntries(rows, prefix);
  }

  /** Forgets the path (the blob stays until an explicit gc finds it unreferenced). */
  async function remove(input: { actor: string; runId: string; path: string }) {
    const path = normalizeArtifactPath(input.path);
    await requireRun(input.runId, { active: true });
    await inTransaction(db, async (tx) => {
      const before = await repo.findArtifact({ tx, runId: input.runId, path });
      if (!before) throw new NotFoundError('artifact', `${input.runId}/${path}`);
      await repo.deleteArtifact({ tx, runId: input.runId, path });
      await audit.append(tx, {
        actor: input.actor,
        action: 'artifact.delete',
        entityType: 'run',
        entityId: input.runId,
        before: { path, sha256: before.sha256 },
        details: { path },
      });
    });
  }

  return { put, get, stat, list, remove };
}

export type ArtifactService = ReturnType<typeof createArtifactService>;
