import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ValidationError } from '../core/errors.js';
import { parseOrThrow } from '../core/validate.js';
import type { DataDomain } from '../data/index.js';
import type { MlApi } from '../ml/index.js';
import {
  type ArtifactService,
  type ExperimentService,
  logBatchBodySchema,
  type RunService,
} from '../tracking/index.js';

/*
 * ml's port served straight from the services, acting as `actor`: what a job handler (a sweep trial on
 * a worker) trains and records through. The CLI's in-process transport serves the same port to a
 * person at a terminal; this one is for work that runs on behalf of whoever asked for it.
 */

export interface MlApiServices {
  experiments: ExperimentService;
  runs: RunService;
  artifacts: ArtifactService;
  data: DataDomain;
}

/** MlApi over the services, every change made as `actor`. */
export function servicesMlApi(s: MlApiServices, actor: string): MlApi {
  return {
    experiments: {
      get: (id) => s.experiments.get(id),
      getByName: (name) => s.experiments.getByName(name),
      create: (input) => s.experiments.create({ actor, ...input }),
    },
    runs: {
      create: (input) => s.runs.create({ actor, experimentId: '0', ...input }),
      get: (id) => s.runs.get(id),
      update: (id, patch) => s.runs.update({ actor, runId: id, ...patch }),
      logBatch: (id, batch) =>
        s.runs.logBatch({ actor, runId: id, ...parseOrThrow(logBatchBodySchema, batch) }),
      logInputs: (id, inputs) => s.runs.logInputs({ actor, runId: id, ...inputs }),
      listArtifacts: (id, p) => s.artifacts.list(id, p),
      uploadArtifact: (id, p, content) => s.artifacts.put({ actor, runId: id, path: p, content }),
      downloadArtifact: async (id, p) => (await s.artifacts.get(id, p)).stream,
    },
    data: {
      get: async (ref, destDir) => {
        const version = await s.data.versions.resolve(ref);
        const root = path.resolve(destDir);
        for (const f of version.files) {
          const target = path.resolve(root, ...f.path.split('/'));
          if (!target.startsWith(root + path.sep))
            throw new ValidationError(`path: '${f.path}' would land outside ${destDir}`, { field: 'path' });
          await mkdir(path.dirname(target), { recursive: true });
          // The blob store verifies each blob's sha256 as it is read.
          const file = await s.data.versions.openFile(`${version.dataset}@${version.number}`, f.path);
          await pipeline(file.stream, createWriteStream(target));
        }
        return version;
      },
    },
  };
}
