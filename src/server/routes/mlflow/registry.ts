import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../../app/index.js';
import { ForbiddenError, ValidationError } from '../../../core/errors.js';
import type { Actor, ModelVersion } from '../../../registry/index.js';
import { decodePageToken, encodePageToken } from '../../../tracking/index.js';
import { latestMetrics, loggedModelIdInArtifactUri, loggedModelIdOfSource } from './logged-model-wire.js';
import { mlflowRoute } from './mlflow-route.js';
import {
  latestPerStage,
  loggedModelIdOfVersionSource,
  matches,
  mlflowModelVersion,
  mlflowRegisteredModel,
  parseRegistryFilter,
  parseStage,
  runPathOf,
  STAGE_ALIAS,
  type Stage,
} from './registry-wire.js';
import { int64, keyValue, repeated } from './wire.js';

const name = z.string().min(1).max(256);
const version = z
  .union([z.string().regex(/^\d+$/, 'must be a version number'), z.number().int().positive()])
  .transform(Number);
const SCAN_LIMIT = 10_000;

/** MLflow's model registry REST API over Sextant's registry (stages map onto aliases: see registry-wire.ts). */
export function registerMlflowRegistryRoutes(app: FastifyInstance, s: Services): void {
  const r = s.registry;
  const actor = (req: FastifyRequest): Actor => ({ name: req.principal.name, role: req.principal.role });
  const allVersions = async (model: string) => (await r.versions.list({ model, limit: SCAN_LIMIT })).versions;
  const modelReply = async (model: string) => {
    const m = await r.models.get(model);
    return { registered_model: mlflowRegisteredModel(m, latestPerStage(await allVersions(m.name))) };
  };
  const versionReply = async (model: string, v: number) => ({
    model_version: mlflowModelVersion(await r.versions.resolve(`${model}@${v}`)),
  });
  const page = <T>(items: T[], maxResults: number | undefined, token: string | undefined) => {
    const offset = decodePageToken(token);
    const limit = maxResults ?? 100;
    const next = offset + limit < items.length ? { next_page_token: encodePageToken(offset + limit) } : {};
    return { items: items.slice(offset, offset + limit), next };
  };

  mlflowRoute(app, {
    methods: ['POST'],
    path: 'registered-models/create',
    permission: 'write',
    summary: 'MLflow: create a registered model',
    input: z.strictObject({
      name,
      tags: z.array(keyValue).max(100).optional(),
      description: z.string().max(20_000).optional(),
    }),
    handler: async (b, req) => {
      const tags = Object.fromEntries((b.tags ?? []).map((t) => [t.key, t.value]));
      const m = await r.models.create({ actor: actor(req), name: b.name, description: b.description, tags });
      return { registered_model: mlflowRegisteredModel(m, []) };
    },
  });
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'registered-models/get',
    permission: 'read',
    summary: 'MLflow: get a registered model',
    input: z.strictObject({ name }),
    handler: async (q) => modelReply(q.name),
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'registered-models/rename',
    permission: 'write',
    summary: 'MLflow: rename a registered model',
    input: z.strictObject({ name, new_name: name }),
    handler: async (b, req) => {
      const m = await r.models.update({ actor: actor(req), name: b.name, newName: b.new_name });
      return modelReply(m.name);
    },
  });
  mlflowRoute(app, {
    methods: ['PATCH'],
    path: 'registered-models/update',
    permission: 'write',
    summary: "MLflow: change a registered model's description",
    input: z.strictObject({ name, description: z.string().max(20_000).optional() }),
    handler: async (b, req) => {
      await r.models.update({ actor: actor(req), name: b.name, description: b.description ?? '' });
      return modelReply(b.name);
    },
  });
  mlflowRoute(app, {
    methods: ['DELETE'],
    path: 'registered-models/delete',
    permission: 'write',
    summary: 'MLflow: delete a registered model (soft; refused while it has aliases)',
    input: z.strictObject({ name }),
    handler: async (b, req) => {
      await r.models.remove({ actor: actor(req), name: b.name });
      return {};
    },
  });
  for (const method of ['GET', 'POST'] as const) {
    mlflowRoute(app, {
      methods: [method],
      path: 'registered-models/search',
      permission: 'read',
      summary: 'MLflow: search registered models by name',
      input: z.strictObject({
        filter: z.string().max(10_000).optional(),
        max_results: int64.optional(),
        order_by: method === 'GET' ? repeated(z.string()).optional() : z.array(z.string()).optional(),
        page_token: z.string().max(1000).optional(),
      }),
      handler: async (q) => {
        const clauses = parseRegistryFilter(q.filter, ['name']);
        const nameClause = clauses.get('name');
        const { models } = await r.models.list({ limit: SCAN_LIMIT });
        const found = models.filter((m) => !nameClause || matches(m.name, nameClause));
        if (q.order_by?.some((o) => /^name\s+desc$/i.test(o.trim()))) found.reverse();
        const { items, next } = page(found, q.max_results, q.page_token);
        const out = [];
        for (const m of items) out.push(mlflowRegisteredModel(m, latestPerStage(await allVersions(m.name))));
        return { registered_models: out, ...next };
      },
    });
    mlflowRoute(app, {
      methods: [method],
      path: 'registered-models/get-latest-versions',
      permission: 'read',
      summary: 'MLflow: the newest version in each stage',
      input: z.strictObject({
        name,
        stages: method === 'GET' ? repeated(z.string()).optional() : z.array(z.string()).optional(),
      }),
      handler: async (q) => {
        const stages = q.stages?.map((x) => parseStage(x, 'stages'));
        return { model_versions: latestPerStage(await allVersions(q.name), stages).map(mlflowModelVersion) };
      },
    });
  }
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'registered-models/set-tag',
    permission: 'write',
    summary: 'MLflow: set a registered model tag',
    input: z.strictObject({ name, key: z.string().min(1).max(250), value: z.string().max(8000) }),
    handler: async (b, req) => {
      await r.models.update({ actor: actor(req), name: b.name, tags: { [b.key]: b.value } });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['DELETE'],
    path: 'registered-models/delete-tag',
    permission: 'write',
    summary: 'MLflow: delete a registered model tag',
    input: z.strictObject({ name, key: z.string().min(1).max(250) }),
    handler: async (b, req) => {
      await r.models.update({ actor: actor(req), name: b.name, tags: { [b.key]: null } });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'registered-models/alias',
    permission: 'write',
    summary: 'MLflow: point an alias at a version (protected aliases need a promotion request)',
    input: z.strictObject({ name, alias: z.string().min(1).max(256), version }),
    handler: async (b, req) => {
      await r.aliases.set({ actor: actor(req), model: b.name, alias: b.alias, version: b.version });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['DELETE'],
    path: 'registered-models/alias',
    permission: 'write',
    summary: 'MLflow: delete an alias',
    input: z.strictObject({ name, alias: z.string().min(1).max(256) }),
    handler: async (b, req) => {
      await r.aliases.delete({ actor: actor(req), model: b.name, alias: b.alias });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'registered-models/alias',
    permission: 'read',
    summary: 'MLflow: the version an alias points at',
    input: z.strictObject({ name, alias: z.string().min(1).max(256) }),
    handler: async (q) => ({
      model_version: mlflowModelVersion(await r.versions.resolve(`${q.name}@${q.alias}`)),
    }),
  });

  mlflowRoute(app, {
    methods: ['POST'],
    path: 'model-versions/create',
    permission: 'write',
    summary: "MLflow: register a run's model folder as the next version",
    input: z.strictObject({
      name,
      source: z.string().min(1).max(2000),
      run_id: z.string().max(256).optional(),
      tags: z.array(keyValue).max(100).optional(),
      run_link: z.string().max(2000).optional(),
      description: z.string().max(20_000).optional(),
      model_id: z.string().max(256).optional(),
    }),
    handler: async (b, req) => {
      await r.models.get(b.name); // MLflow registers only into an existing model
      const found = await sourceOf(b);
      const tags = Object.fromEntries((b.tags ?? []).map((t) => [t.key, t.value]));
      if ('loggedModel' in found) {
        const lm = found.loggedModel;
        const v = await r.versions.registerFromLoggedModel({
          actor: actor(req),
          model: b.name,
          loggedModel: { id: lm.id, createdBy: lm.createdBy, params: lm.params, metrics: latestMetrics(lm) },
          files: await s.loggedModelArtifacts.files(lm.id),
          description: b.description,
          tags,
        });
        return { model_version: mlflowModelVersion(v) };
      }
      const { runId, path } = found;
      if (b.run_id && runId !== b.run_id) {
        throw new ValidationError(`source: names run '${runId}' but run_id is '${b.run_id}'`, {
          field: 'source',
        });
      }
      const v = await r.versions.registerFromRun({
        actor: actor(req),
        model: b.name,
        runId,
        path,
        description: b.description,
        tags,
      });
      return { model_version: mlflowModelVersion(v) };
    },
  });
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'model-versions/get',
    permission: 'read',
    summary: 'MLflow: get a model version',
    input: z.strictObject({ name, version }),
    handler: async (q) => versionReply(q.name, q.version),
  });
  mlflowRoute(app, {
    methods: ['PATCH'],
    path: 'model-versions/update',
    permission: 'write',
    summary: "MLflow: change a version's description",
    input: z.strictObject({ name, version, description: z.string().max(20_000).optional() }),
    handler: async (b, req) => ({
      model_version: mlflowModelVersion(
        await r.versions.update({
          actor: actor(req),
          model: b.name,
          version: b.version,
          description: b.description ?? '',
        }),
      ),
    }),
  });
  mlflowRoute(app, {
    methods: ['DELETE'],
    path: 'model-versions/delete',
    permission: 'write',
    summary: 'MLflow: delete a model version (soft; refused while an alias holds it)',
    input: z.strictObject({ name, version }),
    handler: async (b, req) => {
      await r.versions.remove({ actor: actor(req), model: b.name, version: b.version });
      return {};
    },
  });
  for (const method of ['GET', 'POST'] as const) {
    mlflowRoute(app, {
      methods: [method],
      path: 'model-versions/search',
      permission: 'read',
      summary: 'MLflow: search model versions by name and run_id',
      input: z.strictObject({
        filter: z.string().max(10_000).optional(),
        max_results: int64.optional(),
        order_by: method === 'GET' ? repeated(z.string()).optional() : z.array(z.string()).optional(),
        page_token: z.string().max(1000).optional(),
      }),
      handler: async (q) => {
        const clauses = parseRegistryFilter(q.filter, ['name', 'run_id']);
        const nameClause = clauses.get('name');
        const runClause = clauses.get('run_id');
        const exact = nameClause?.op === '=' ? nameClause.value : undefined;
        const runId = runClause?.op === '=' ? runClause.value : undefined;
        const { versions } = await r.versions.list({
          ...(exact ? { model: exact } : {}),
          ...(runId ? { runId } : {}),
          limit: SCAN_LIMIT,
        });
        const found = versions.filter(
          (v: ModelVersion) =>
            (!nameClause || matches(v.model, nameClause)) &&
            (!runClause || matches(v.runId ?? '', runClause)),
        );
        const { items, next } = page(found, q.max_results, q.page_token);
        return { model_versions: items.map(mlflowModelVersion), ...next };
      },
    });
  }
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'model-versions/get-download-uri',
    permission: 'read',
    summary: "MLflow: where a version's files can be downloaded",
    input: z.strictObject({ name, version }),
    handler: async (q) => {
      const v = await r.versions.resolve(`${q.name}@${q.version}`);
      const loggedModel = loggedModelIdOfVersionSource(v.source);
      if (!v.runId && loggedModel)
        return { artifact_uri: (await s.loggedModels.get(loggedModel)).artifactUri };
      if (!v.runId) return { artifact_uri: `sextant-models:/${encodeURIComponent(v.model)}/${v.version}` };
      const run = await s.runs.get(v.runId);
      return { artifact_uri: `${run.artifactUri}/${runPathOf(v.source, run).path}` };
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'model-versions/transition-stage',
    permission: 'write',
    summary: 'MLflow: move a version to a stage (Production = champion, Staging = challenger)',
    input: z.strictObject({
      name,
      version,
      stage: z.string().min(1).max(32),
      archive_existing_versions: z.union([z.boolean(), z.enum(['true', 'false'])]).optional(),
    }),
    handler: async (b, req) => {
      const stage: Stage = parseStage(b.stage);
      const v = await r.versions.resolve(`${b.name}@${b.version}`);
      if (stage === 'Production' || stage === 'Staging') {
        const alias = STAGE_ALIAS[stage];
        if (!v.aliases.includes(alias)) await setOrExplain(b.name, alias, v.version, actor(req));
      } else {
        for (const alias of v.aliases.filter(
          (a) => a === STAGE_ALIAS.Production || a === STAGE_ALIAS.Staging,
        )) {
          await r.aliases.delete({
            actor: actor(req),
            model: b.name,
            alias,
            reason: `transition-stage ${stage}`,
          });
        }
      }
      return versionReply(b.name, b.version);
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'model-versions/set-tag',
    permission: 'write',
    summary: 'MLflow: set a model version tag',
    input: z.strictObject({ name, version, key: z.string().min(1).max(250), value: z.string().max(8000) }),
    handler: async (b, req) => {
      await r.versions.update({
        actor: actor(req),
        model: b.name,
        version: b.version,
        tags: { [b.key]: b.value },
      });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['DELETE'],
    path: 'model-versions/delete-tag',
    permission: 'write',
    summary: 'MLflow: delete a model version tag',
    input: z.strictObject({ name, version, key: z.string().min(1).max(250) }),
    handler: async (b, req) => {
      await r.versions.update({
        actor: actor(req),
        model: b.name,
        version: b.version,
        tags: { [b.key]: null },
      });
      return {};
    },
  });

  /**
   * The run folder a version is made from. MLflow 3 registers a logged model (`models:/<model id>`,
   * its artifact URI, or any source with `model_id`): that is its folder in its source run, and only once
   * the model is READY, so the version carries the run's lineage like any run-registered version.
   */
  async function sourceOf(b: { source: string; run_id?: string | undefined; model_id?: string | undefined }) {
    const modelId = b.model_id || loggedModelIdOfSource(b.source) || loggedModelIdInArtifactUri(b.source);
    if (modelId) {
      const m = await s.loggedModels.get(modelId);
      const field = b.model_id ? 'model_id' : 'source';
      if (m.lifecycleStage !== 'active') {
        throw new ValidationError(`${field}: logged model '${modelId}' is deleted`, { field });
      }
      if (m.status !== 'READY') {
        throw new ValidationError(
          `${field}: logged model '${modelId}' is ${m.status}; finalize it as LOGGED_MODEL_READY before registering it`,
          { field },
        );
      }
      const inner = loggedModelIdOfSource(b.source);
      if (!m.sourceRunId) {
        // A model logged outside a run: its files are under the model itself.
        const named = inner ?? (b.source.replace(/\/+$/, '') === m.artifactUri ? modelId : undefined);
        if (named !== modelId) {
          throw new ValidationError(`source: '${b.source}' is not logged model '${modelId}'`, {
            field: 'source',
          });
        }
        if (b.run_id) {
          throw new ValidationError(`run_id: logged model '${modelId}' was logged outside a run`, {
            field: 'run_id',
          });
        }
        return { loggedModel: m };
      }
      const run = await s.runs.get(m.sourceRunId);
      const named = inner ?? (b.source === m.artifactUri ? modelId : undefined);
      if (!named) {
        const { runId: srcRun, path } = runPathOf(b.source, run);
        if (srcRun !== m.sourceRunId || !`${path}/`.startsWith(`${m.artifactPath}/`)) {
          throw new ValidationError(`source: '${b.source}' is not inside logged model '${modelId}'`, {
            field: 'source',
          });
        }
      } else if (named !== modelId) {
        throw new ValidationError(`source: names logged model '${named}' but model_id is '${modelId}'`, {
          field: 'source',
        });
      }
      if (b.run_id && b.run_id !== m.sourceRunId) {
        throw new ValidationError(
          `run_id: logged model '${modelId}' was produced by run '${m.sourceRunId}'`,
          {
            field: 'run_id',
          },
        );
      }
      return { runId: m.sourceRunId, path: m.artifactPath };
    }
    const run = b.run_id ? await s.runs.get(b.run_id) : undefined;
    const found = runPathOf(b.source, run);
    return found;
  }

  /** A stage move onto a protected alias is refused with the way through governance. */
  async function setOrExplain(model: string, alias: string, v: number, who: Actor) {
    try {
      await r.aliases.set({ actor: who, model, alias, version: v, reason: 'MLflow transition-stage' });
    } catch (err) {
      if ((err as { code?: string }).code !== 'FORBIDDEN') throw err;
      throw new ForbiddenError(
        `stage transitions onto '${alias}' need an approved promotion request: POST /api/v1/promotions {"ref": "${model}@${v}", "alias": "${alias}"} or sextant models promote ${model}@${v} --alias ${alias}`,
        { field: 'stage' },
      );
    }
  }
}
