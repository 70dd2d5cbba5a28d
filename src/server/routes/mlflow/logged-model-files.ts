import type { Readable } from 'node:stream';
import type { Services } from '../../../app/index.js';
import type { ArtifactEntry, LoggedModel } from '../../../tracking/index.js';

/** The files of one place the artifact proxy reaches: a run's artifacts or a run-less logged model's files. */
export interface FileStore {
  list(path: string): Promise<ArtifactEntry[]>;
  get(path: string): Promise<{ stream: Readable; size: number }>;
  put(actor: string, path: string, content: Readable | string): Promise<unknown>;
  remove(actor: string, path: string): Promise<void>;
}

/** A run's artifacts as a FileStore. */
export function runFiles(s: Services, runId: string): FileStore {
  return {
    list: (path) => s.artifacts.list(runId, path),
    get: (path) => s.artifacts.get(runId, path),
    put: (actor, path, content) => s.artifacts.put({ actor, runId, path, content }),
    remove: (actor, path) => s.artifacts.remove({ actor, runId, path }),
  };
}

/** The files of a logged model without a source run, as a FileStore. */
export function runlessModelFiles(s: Services, modelId: string): FileStore {
  const a = s.loggedModelArtifacts;
  return {
    list: (path) => a.list(modelId, path),
    get: (path) => a.get(modelId, path),
    put: (actor, path, content) => a.put({ actor, modelId, path, content }),
    remove: (actor, path) => a.remove({ actor, modelId, path }),
  };
}

/**
 * A logged model's files with paths relative to the model's root, wherever they are kept: in its source
 * run's `models/<id>` folder, or under the model itself.
 */
export function loggedModelFiles(s: Services, m: LoggedModel): Pick<FileStore, 'list' | 'get'> {
  if (!m.sourceRunId) return runlessModelFiles(s, m.id);
  const run = runFiles(s, m.sourceRunId);
  const base = m.artifactPath;
  return {
    list: async (path) =>
      (await run.list(path ? `${base}/${path}` : base)).map((e) => ({
        ...e,
        path: e.path.slice(base.length + 1),
      })),
    get: (path) => run.get(`${base}/${path}`),
  };
}
