import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../../app/index.js';
import { NotFoundError, ValidationError } from '../../../core/errors.js';
import { normalizeArtifactPath } from '../../../tracking/index.js';
import { acceptRawBodies } from '../../raw-body.js';
import { route } from '../../route.js';
import { mlflowRoute } from './mlflow-route.js';

export const PROXY_ROOT = '/api/2.0/mlflow-artifacts';
const PROXY = `${PROXY_ROOT}/artifacts`;

/**
 * A proxied artifact path is `<experiment_id>/<run_id>/artifacts/<path inside the run>`, the layout
 * that a run's artifact_uri `mlflow-artifacts:/<experiment_id>/<run_id>/artifacts` gives clients.
 */
export async function resolveProxyPath(s: Services, raw: string, { allowRoot }: { allowRoot: boolean }) {
  const full = normalizeArtifactPath(raw, { field: 'path', allowRoot: true });
  // The path inside the run is checked on its own: normalising the whole path first would turn
  // `<exp>/<run>/artifacts//etc/passwd` into the relative `etc/passwd` instead of refusing it.
  const m = /^([^/]+)\/([^/]+)\/artifacts(?:\/(.*))?$/s.exec(raw);
  const [, experimentId, runId, inner = ''] = m ?? [];
  const runless = /^[^/]+\/models\/(m-[^/]+)\/artifacts(?:\/|$)/.exec(raw)?.[1];
  if (runless) {
    throw new ValidationError(
      `path: logged model '${runless}' has no source run, and Sextant keeps a logged model's files in its run; log the model inside a run`,
      { field: 'path' },
    );
  }
  if (!experimentId || !runId) {
    throw new ValidationError(`path: expected '<experiment_id>/<run_id>/artifacts/...' but got '${full}'`, {
      field: 'path',
    });
  }
  const path = normalizeArtifactPath(inner, { field: 'path', allowRoot: true });
  const run = await s.runs.get(runId);
  if (run.experimentId !== experimentId) throw new NotFoundError('run', `${experimentId}/${runId}`);
  if (!path && !allowRoot) throw new ValidationError('path: names a folder, not a file', { field: 'path' });
  return { runId, path };
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
      const { runId, path } = await resolveProxyPath(s, req.query.path ?? '', { allowRoot: true });
      const entries = await s.artifacts.list(runId, path);
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
      const { runId, path } = await resolveProxyPath(s, req.params['*'], { allowRoot: false });
      const a = await s.artifacts.get(runId, path);
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
      const { runId, path } = await resolveProxyPath(s, req.params['*'], { allowRoot: false });
      await s.artifacts.remove({ actor: req.principal.name, runId, path });
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
        const { runId, path } = await resolveProxyPath(s, req.params['*'], { allowRoot: false });
        await s.artifacts.put({
          actor: req.principal.name,
          runId,
          path,
          content: (req.body as Readable | undefined) ?? '',
        });
        return {};
      },
    });
  });
}
