import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../../app/index.js';
import {
  decodePageToken,
  encodePageToken,
  type LoggedModel,
  loggedModelIdSchema,
  normalizeArtifactPath,
} from '../../../tracking/index.js';
import { loggedModelFiles } from './logged-model-files.js';
import {
  finalizeStatusSchema,
  matchesLoggedModel,
  mlflowLoggedModel,
  orderLoggedModels,
  parseLoggedModelFilter,
} from './logged-model-wire.js';
import { mlflowRoute } from './mlflow-route.js';
import { loggedModelIdOfVersionSource } from './registry-wire.js';
import { keyValue } from './wire.js';

const modelParams = z.strictObject({ model_id: loggedModelIdSchema });
// Clients repeat the path's model_id in the body (MLflow's REST store sends the whole message).
const sameModel = { model_id: z.string().optional() };
const SEARCH_PAGE_MAX = 50;

/** MLflow 3's logged-models/* endpoints (service.proto), over the tracking domain's logged models. */
export function registerMlflowLoggedModelRoutes(app: FastifyInstance, s: Services): void {
  /** Registry versions made from the model: from its folder in its source run, or from `models:/<id>`. */
  async function registrationsOf(m: LoggedModel) {
    const { versions } = await s.registry.versions.list(
      m.sourceRunId ? { runId: m.sourceRunId, limit: 1000 } : { source: `models:/${m.id}`, limit: 1000 },
    );
    return versions
      .filter((v) => loggedModelIdOfVersionSource(v.source) === m.id)
      .map((v) => ({ name: v.model, version: v.version }));
  }
  const reply = async (m: LoggedModel) => ({ model: mlflowLoggedModel(m, await registrationsOf(m)) });

  mlflowRoute(app, {
    methods: ['POST'],
    path: 'logged-models',
    permission: 'write',
    summary: 'MLflow 3: create a logged model (PENDING until finalized)',
    input: z.strictObject({
      experiment_id: z.string().regex(/^\d{1,15}$/, 'must be a numeric experiment id'),
      name: z.string().max(500).optional(),
      model_type: z.string().max(500).optional(),
      source_run_id: z.string().max(256).optional(),
      params: z.array(keyValue).optional(),
      tags: z.array(keyValue).optional(),
    }),
    handler: async (b, req) =>
      reply(
        await s.loggedModels.create({
          actor: req.principal.name,
          experimentId: b.experiment_id,
          ...(b.name ? { name: b.name } : {}),
          ...(b.model_type ? { modelType: b.model_type } : {}),
          ...(b.source_run_id ? { sourceRunId: b.source_run_id } : {}),
          params: b.params ?? [],
          tags: b.tags ?? [],
        }),
      ),
  });
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'logged-models/:model_id',
    permission: 'read',
    summary: 'MLflow 3: get a logged model',
    params: modelParams,
    input: z.strictObject(sameModel),
    handler: async (q) => reply(await s.loggedModels.get(q.model_id)),
  });
  mlflowRoute(app, {
    methods: ['PATCH'],
    path: 'logged-models/:model_id',
    permission: 'write',
    summary: 'MLflow 3: finalize a logged model (LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED)',
    params: modelParams,
    input: z.strictObject({ ...sameModel, status: finalizeStatusSchema }),
    handler: async (b, req) =>
      reply(await s.loggedModels.finalize({ actor: req.principal.name, id: b.model_id, status: b.status })),
  });
  mlflowRoute(app, {
    methods: ['DELETE'],
    path: 'logged-models/:model_id',
    permission: 'write',
    summary: 'MLflow 3: delete a logged model (soft)',
    params: modelParams,
    input: z.strictObject(sameModel),
    handler: async (b, req) => {
      await s.loggedModels.remove({ actor: req.principal.name, id: b.model_id });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'logged-models/search',
    permission: 'read',
    summary: "MLflow 3: search logged models (attributes, tags, params and metrics; MLflow's page of 50)",
    input: z.strictObject({
      experiment_ids: z.array(z.string().min(1).max(32)).min(1, 'give at least one experiment id'),
      filter: z.string().max(10_000).optional(),
      datasets: z
        .array(
          z.strictObject({
            dataset_name: z.string().min(1).max(500),
            dataset_digest: z.string().max(256).optional(),
          }),
        )
        .optional(),
      max_results: z.number().int().min(1).max(SEARCH_PAGE_MAX).optional(),
      order_by: z
        .array(
          z.strictObject({
            field_name: z.string().min(1),
            ascending: z.boolean().optional(),
            dataset_name: z.string().optional(),
            dataset_digest: z.string().optional(),
          }),
        )
        .optional(),
      page_token: z.string().max(1000).optional(),
    }),
    handler: async (b) => {
      const clauses = parseLoggedModelFilter(b.filter);
      const found = orderLoggedModels(
        (await s.loggedModels.list(b.experiment_ids)).filter((m) =>
          matchesLoggedModel(m, clauses, b.datasets),
        ),
        b.order_by,
      );
      const offset = decodePageToken(b.page_token);
      const limit = b.max_results ?? SEARCH_PAGE_MAX;
      const models = [];
      for (const m of found.slice(offset, offset + limit)) models.push((await reply(m)).model);
      return {
        models,
        ...(offset + limit < found.length ? { next_page_token: encodePageToken(offset + limit) } : {}),
      };
    },
  });
  mlflowRoute(app, {
    methods: ['PATCH'],
    path: 'logged-models/:model_id/tags',
    permission: 'write',
    summary: 'MLflow 3: set tags on a logged model',
    params: modelParams,
    input: z.strictObject({ ...sameModel, tags: z.array(keyValue).max(100).optional() }),
    handler: async (b, req) =>
      reply(await s.loggedModels.setTags({ actor: req.principal.name, id: b.model_id, tags: b.tags ?? [] })),
  });
  mlflowRoute(app, {
    methods: ['DELETE'],
    path: 'logged-models/:model_id/tags/:tag_key',
    permission: 'write',
    summary: 'MLflow 3: delete a tag of a logged model',
    params: z.strictObject({ model_id: loggedModelIdSchema, tag_key: z.string().min(1).max(250) }),
    input: z.strictObject({ ...sameModel, tag_key: z.string().optional() }),
    handler: async (b, req) => {
      await s.loggedModels.deleteTag({ actor: req.principal.name, id: b.model_id, key: b.tag_key });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'logged-models/:model_id/params',
    permission: 'write',
    summary: 'MLflow 3: log params of a logged model (immutable once logged)',
    params: modelParams,
    input: z.strictObject({ ...sameModel, params: z.array(keyValue).max(100).optional() }),
    handler: async (b, req) => {
      await s.loggedModels.logParams({ actor: req.principal.name, id: b.model_id, params: b.params ?? [] });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'logged-models/:model_id/artifacts/directories',
    permission: 'read',
    summary: "MLflow 3: list one folder of a logged model's files",
    params: modelParams,
    input: z.strictObject({
      ...sameModel,
      artifact_directory_path: z.string().max(1024).optional(),
      page_token: z.string().max(1000).optional(),
    }),
    handler: async (q) => {
      const m = await s.loggedModels.get(q.model_id);
      // The UI may send the folder with leading or trailing slashes; the path inside is checked as usual.
      const sub = normalizeArtifactPath((q.artifact_directory_path ?? '').replace(/^\/+|\/+$/g, ''), {
        field: 'artifact_directory_path',
        allowRoot: true,
      });
      const files = await loggedModelFiles(s, m).list(sub);
      return {
        root_uri: m.artifactUri,
        files: files.map((e) => ({
          path: e.path,
          is_dir: e.isDir,
          ...(e.isDir ? {} : { file_size: e.size ?? 0 }),
        })),
      };
    },
  });
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'logged-models/:model_id/artifacts/files',
    permission: 'read',
    summary: "MLflow 3: download one of a logged model's files",
    params: modelParams,
    input: z.strictObject({ ...sameModel, artifact_file_path: z.string().min(1).max(1024) }),
    handler: async (q, _req, res) => {
      const m = await s.loggedModels.get(q.model_id);
      const a = await loggedModelFiles(s, m).get(q.artifact_file_path);
      return res
        .header('content-type', 'application/octet-stream')
        .header('content-length', a.size)
        .send(a.stream);
    },
  });
}
