import type { Readable } from 'node:stream';
import { roleAllows } from '../auth/index.js';
import { ForbiddenError } from '../core/errors.js';
import type { Executor } from '../store/index.js';
import { createAliasService } from './alias.service.js';
import type { EndpointSpec } from './endpoint.schema.js';
import { createModelService } from './model.service.js';
import { createModelCards } from './model-card.js';
import { createModelReader } from './model-read.js';
import { createPolicyService } from './policy.service.js';
import { createPromotionService } from './promotion.service.js';
import type { ModelEnvironment, ModelVersion } from './registry.schema.js';
import type { Actor, RegistryDeps } from './registry-deps.js';
import { createVersionSources } from './version-source.js';

/** An external model's endpoint record (URL, protocol, mapping, resilience, identity) and its registration body. */
export * from './endpoint.schema.js';
/** The key model names are unique under (URL-decoded, NFKC, case-folded). */
export { modelNameKey } from './model-name.js';
/** Parses and checks a promotion policy (YAML); ValidationError names the field. */
export { BUILT_IN_POLICY_YAML, type Policy, parsePolicy } from './policy.js';
/** The registry's event definitions (model_version.created, promotion_request.*, alias.*). */
export * from './registry.events.js';
export * from './registry.schema.js';
export type { Actor, DatasetVersionFacts, RegistryDeps, RegistryEvents } from './registry-deps.js';
/** Gate metrics with no measurements: the wiring's choice until monitoring supplies them. */
export { noGateMetrics } from './registry-deps.js';

type Environment = Omit<ModelEnvironment, 'source'>;

/**
 * Read-only model and version lookups built from the database alone: a listing (`models ls`, `models
 * show`) needs neither the event bus nor policies, so a local command answers it without building them.
 */
export function createRegistryReader(db: Executor) {
  const r = createModelReader(db);
  return {
    models: { get: r.get, list: r.list },
    versions: { resolve: r.getVersion, list: r.listVersions },
  };
}

/** What createRegistryReader returns; the full registry (createRegistryDomain) answers the same reads. */
export type RegistryReader = ReturnType<typeof createRegistryReader>;

/** Builds the model registry: models, versions, aliases with history, promotions, policies, cards. */
export function createRegistryDomain(deps: RegistryDeps) {
  const policies = createPolicyService(deps);
  const aliases = createAliasService(deps, policies);
  const models = createModelService(deps);
  const promotions = createPromotionService(deps, policies, aliases);
  const sources = createVersionSources(deps);
  const cards = createModelCards(deps, models, aliases, promotions);

  /** A version must never point at a run its registrant could not read. */
  function assertCanRead(actor: Actor, runId: string) {
    if (!roleAllows(actor.role, 'read')) {
      throw new ForbiddenError(`${actor.name} (${actor.role}) cannot read run '${runId}'`, {
        field: 'runId',
      });
    }
  }

  async function primaryFileOf(v: ModelVersion) {
    // The primary file: for a multi-file generic model the content hash is its manifest's.
    const primary = v.files[0] ?? { sha256: v.sha256, size: v.size, path: 'model' };
    // Verified whole first: a reply must not start (status, length) with bytes that turn out corrupted.
    return { version: v, file: primary, stream: await deps.blobs.getVerified(primary.sha256) };
  }

  const versions = {
    /** A version by `<model>@<n>`, `<model>@<alias>` or `<model>@latest`; NotFoundError otherwise. */
    resolve: (ref: string) => models.getVersion(ref),
    /** A version by `<n>`, `<alias>` or `latest` inside the model with this id (rename-proof). */
    resolveIn: (modelId: string, selector: string) => models.getVersionIn(modelId, selector),
    list: models.listVersions,
    update: models.updateVersion,
    remove: models.removeVersion,
    /** Registers a run's model artifact (a file, or a folder holding model.onnx) as the next version. */
    async registerFromRun(input: {
      actor: Actor;
      model: string;
      runId: string;
      path?: string | undefined;
      description?: string | undefined;
      tags?: Record<string, string> | undefined;
      environment?: Environment | undefined;
    }) {
      assertCanRead(input.actor, input.runId);
      const facts = await sources.fromRun({
        runId: input.runId,
        path: input.path ?? 'model',
        environment: input.environment,
      });
      return models.addVersion({
        actor: input.actor,
        model: input.model,
        facts,
        description: input.description,
        tags: input.tags,
      });
    },
    /**
     * Registers a logged model without a source run (MLflow 3: `models:/<model id>`): its files as they
     * are kept under the model, its params and metrics. Models made by a run go through registerFromRun.
     */
    async registerFromLoggedModel(input: {
      actor: Actor;
      model: string;
      loggedModel: {
        id: string;
        createdBy: string;
        params: Record<string, string>;
        metrics: Record<string, number>;
      };
      files: { path: string; sha256: string; size: number }[];
      description?: string | undefined;
      tags?: Record<string, string> | undefined;
    }) {
      const facts = await sources.fromLoggedModel({
        ...input.loggedModel,
        modelId: input.loggedModel.id,
        files: input.files,
      });
      return models.addVersion({
        actor: input.actor,
        model: input.model,
        facts,
        description: input.description,
        tags: input.tags,
      });
    },
    /** Registers an uploaded file (ONNX is opened and checked; anything else is a generic artifact). */
    async registerFile(input: {
      actor: Actor;
      model: string;
      filename: string;
      content: Readable | Uint8Array | string;
      description?: string | undefined;
      environment?: Environment | undefined;
      /** Names of a single float tensor input's columns, comma-separated (stored as signature.declared.inputs). */
      features?: string | undefined;
    }) {
      const { features, ...rest } = input;
      const facts = await sources.fromFile({
        ...rest,
        uploader: input.actor.name,
        ...(features !== undefined ? { features: features.split(',').map((f) => f.trim()) } : {}),
      });
      return models.addVersion({
        actor: input.actor,
        model: input.model,
        facts,
        description: input.description,
      });
    },
    /**
     * Registers an external model (served by another server, fronted by the gateway): the endpoint
     * record becomes the version's file. The caller has already reached the server for its identity.
     */
    async registerEndpoint(input: {
      actor: Actor;
      model: string;
      spec: EndpointSpec;
      features: { name: string; type: 'float' | 'string' }[];
      declared: Record<string, unknown>;
      datasetVersionIds: string[];
      description?: string | undefined;
    }) {
      const facts = await sources.fromEndpoint({ ...input, uploader: input.actor.name });
      return models.addVersion({
        actor: input.actor,
        model: input.model,
        facts,
        description: input.description,
      });
    },
    /** The stored bytes of a version's primary file (verified against its hash while streaming). */
    async download(ref: string) {
      return primaryFileOf(await models.getVersion(ref));
    },
    /** As download, for `<n>`, `<alias>` or `latest` inside the model with this id. */
    async downloadIn(modelId: string, selector: string) {
      return primaryFileOf(await models.getVersionIn(modelId, selector));
    },
  };

  return {
    models: {
      create: models.create,
      get: models.get,
      list: models.list,
      update: models.update,
      remove: models.remove,
    },
    versions,
    aliases: {
      /** Sets an unprotected alias directly (protected ones move only through promotion requests). */
      set: (input: {
        actor: Actor;
        model: string;
        alias: string;
        version: number;
        reason?: string | undefined;
      }) => aliases.setDirect(input),
      delete: (input: { actor: Actor; model: string; alias: string; reason?: string | undefined }) =>
        aliases.setDirect({ ...input, version: null }),
      history: aliases.history,
      at: aliases.at,
    },
    promotions,
    policies: { show: policies.show, set: policies.set, protectedAliases: policies.protectedAliases },
    cards,
  };
}

export type RegistryDomain = ReturnType<typeof createRegistryDomain>;
