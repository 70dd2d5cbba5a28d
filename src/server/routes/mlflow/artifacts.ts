import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../../app/index.js';
import { NotFoundError, ValidationError } from '../../../core/errors.js';
import { normalizeArtifactPath } from '../../../tracking/index.js';
import { acceptRawBodies } from '../../raw-body.js';
import { route } from '../../route.js';
import { type FileStore, runFiles, runlessModelFiles } from './logged-model-files.js';
import { mlflowRoute } from './mlflow-route.js';

export const PROXY_ROOT = '/api/2.0/mlflow-artifacts';
const PROXY = `${PROXY_ROOT}/artifacts`;

/**
 * A proxied artifact path is `<experiment_id>/<run_id>/artifacts/<path inside the run>`, the layout
 * that a run's artifact_uri `mlflow-artifacts:/<experiment_id>/<run_id>/artifacts` gives clients, or
 * `<experiment_id>/models/<model_id>/artifacts/<path>` for a logged model without a run (its artifact_uri).
 */
export async function resolveProxyTarget(
  s: Services,
  raw: string,
  { allowRoot }: { allowRoot: boolean },
): Promise<{ store: FileStore; path: string; runId?: string; modelId?: string }> {
  const full = normalizeArtifactPath(raw, { field: 'path', allowRoot: true });
  // The path inside the run is checked on its own: normalising the whole path first would turn
  // `<exp>/<run>/artifacts//etc/passwd` into the relative `etc/passwd` instead of refusing it.
  const runless = /^([^/]+)\/models\/(m-[^/]+)\/artifacts(?:\/(.*))?$/s.exec(raw);
  const m = runless ? null : /^([^/]+)\/([^/]+)\/artifacts(?:\/(.*))?$/s.exec(raw);
  const [, experimentId, ownerId, inner = ''] = runless ?? m ?? [];
  if (!experimentId || !ownerId) {
    throw new ValidationError(`path: expected '<experiment_id>/<run_id>/artifacts/...' but got '${full}'`, {
      field: 'path',
    });
  }
  const path = normalizeArtifactPath(inner, { field: 'path', allowRoot: true });
  const owner = runless ? await s.loggedModels.get(ownerId) : await s.runs.get(ownerId);
  if (owner.experimentId !== experimentId) {
    throw new NotFoundError(runless ? 'logged model' : 'run', `${experimentId}/${ownerId}`);
  }
  if (!path && !allowRoot) throw new ValidationError('path: names a folder, not a file', { field: 'path' });
  return runless
    ? { store: runlessModelFiles(s, ownerId), path, modelId: ownerId }
    : { store: runFiles(s, ownerId), path, runId: ownerId };
}

/** A proxied path inside a run (multipart uploads go to runs only). */
export async function resolveProxyPath(s: Services, raw: string, { allowRoot }: { allowRoot: boolean }) {
  const t = await resolveProxyTarget(s, raw, { allowRoot });
  if (!t.runId) {
    throw new ValidationError(
      `path: multipart uploads go into a run's artifacts; upload the files of logged model '${t.modelId}' (which has no run) with one PUT each`,
      { field: 'path' },
    );
  }
  return { runId: t.runId, path: t.path };
}

/** artifacts/list and MLflow's artifact proxy (/api/2.0/mlflow-artifacts). */
export function registerMlflowArtifactRoutes(app: FastifyInstance, s: Services): void {
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'artifacts/list',
    permission: 'read',
    summary: "MLflow: list one folder of a run's artifacts",
    input: z.strictObject({
      run_id: z.string().optional(),
      run_uuid: z.string().optional(),
      path: z.string().max(1024).optional(),
      page_token: z.string().max(1000).optional(),
    }),
    handler: async (q) => {
      const runId = q.run_id ?? q.run_uuid;
      if (!runId)
        throw new ValidationError("run_id: missing value for required parameter 'run_id'", {
          field: 'run_id',
        });
      const run = await s.runs.get(runId);
      const entries = await s.artifacts.list(runId, q.path ?? '');
      return {
        root_uri: run.artifactUri,
        files: entries.map((e) => ({
          path: e.path,
          is_dir: e.isDir,
          ...(e.isDir ? {} : { file_size: e.size ?? 0 }),
        })),
      };
    },
  });

  route(app, {
    method: 'GET',
    url: PROXY,
    permission: 'read',
    summary: 'MLflow artifact proxy: list a folder',
    tags: ['mlflow'],
    querystring: z.strictObject({ path: z.string().max(2048).optional() }),
    handler: async (req) => {
      const { store, path } = await resolveProxyTarget(s, req.query.path ?? '', { allowRoot: true });
      const entries = await store.list(path);
      // The proxy answers with names relative to the folder listed; the client joins them back.
      return {
        files: entries.map((e) => ({
          path: e.path.slice(path ? path.length + 1 : 0),
          is_dir: e.isDir,
          ...(e.isDir ? {} : { file_size: e.size ?? 0 }),
        })),
      };
    },
  });
  route(app, {
    method: 'GET',
    url: `${PROXY}/*`,
    permission: 'read',
    summary: 'MLflow artifact proxy: download',
    tags: ['mlflow'],
    params: z.strictObject({ '*': z.string() }),
    handler: async (req, reply) => {
      const { store, path } = await resolveProxyTarget(s, req.params['*'], { allowRoot: false });
      const a = await store.get(path);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', a.size)
        .send(a.stream);
    },
  });
  route(app, {
    method: 'DELETE',
    url: `${PROXY}/*`,
    permission: 'write',
    summary: 'MLflow artifact proxy: delete',
    tags: ['mlflow'],
    params: z.strictObject({ '*': z.string() }),
    handler: async (req) => {
      const { store, path } = await resolveProxyTarget(s, req.params['*'], { allowRoot: false });
      await store.remove(req.principal.name, path);
      return {};
    },
  });
  app.register(async (scope) => {
    acceptRawBodies(scope);
    route(scope, {
      method: 'PUT',
      url: `${PROXY}/*`,
      permission: 'write',
      summary: 'MLflow artifact proxy: upload (streamed)',
      tags: ['mlflow'],
      params: z.strictObject({ '*': z.string() }),
      handler: async (req) => {
        const { store, path } = await resolveProxyTarget(s, req.params['*'], { allowRoot: false });
        await store.put(req.principal.name, path, (req.body as Readable | undefined) ?? '');
        return {};
      },
    });
  });
}
