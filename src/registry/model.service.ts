import { governedRow } from '../audit/index.js';
import { AlreadyExistsError, ConflictError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseOrThrow } from '../core/validate.js';
import { type Executor, inTransaction, isUniqueViolation } from '../store/index.js';
import type { ModelVersionTable, RegisteredModelTable } from '../store/schema-registry.js';
import * as aliases from './alias.repo.js';
import { aliasesByVersion, getModelRow, getVersionRow } from './lookups.js';
import * as repo from './model.repo.js';
import { checkModelName, checkNewModelName, modelNameKey, modelNameSkeleton } from './model-name.js';
import { createModelReader } from './model-read.js';
import {
  type CardField,
  cardFieldsSchema,
  type ModelVersion,
  type RegisteredModel,
} from './registry.schema.js';
import type { Actor, RegistryDeps } from './registry-deps.js';
import { toVersion } from './registry-view.js';
import type { VersionFacts } from './version-source.js';

/** Registered models and their versions: create, read, rename, describe, soft-delete, card fields. */
export function createModelService(deps: RegistryDeps) {
  const { db, audit, clock, events } = deps;
  const { view, versionView, get, list, getVersion, getVersionIn, listVersions } = createModelReader(db);

  /** Refuses a name that reads like another live model's (look-alike letters, see model-name.ts). */
  async function assertNoLookAlike(tx: Executor, name: string, self: string | undefined, field: string) {
    const skeleton = modelNameSkeleton(name);
    const key = modelNameKey(name);
    for (const other of await repo.listLiveModelNames({ tx })) {
      if (other.id === self || modelNameKey(other.name) === key) continue;
      if (modelNameSkeleton(other.name) === skeleton) {
        throw new ConflictError(
          `${field}: '${name}' looks like the existing model '${other.name}' (their letters are confusable); choose a name that reads differently`,
          { field, lookAlike: other.name },
        );
      }
    }
  }

  async function create(input: {
    actor: Actor;
    name: string;
    description?: string | undefined;
    tags?: Record<string, string> | undefined;
    field?: string | undefined;
  }): Promise<RegisteredModel> {
    const field = input.field ?? 'name';
    const name = checkNewModelName(input.name, field);
    const key = modelNameKey(name);
    const now = clock.now();
    const row: RegisteredModelTable = {
      id: newId('mdl', now),
      name,
      name_key: key,
      description: input.description ?? null,
      tags: JSON.stringify(input.tags ?? {}),
      last_version: 0,
      created_by: input.actor.name,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    try {
      await inTransaction(db, async (tx) => {
        const twin = await repo.findModelByKey({ tx, key });
        if (twin) throw sameName(name, twin.name);
        await assertNoLookAlike(tx, name, undefined, field);
        await repo.insertModel({ tx, row });
        await audit.append(tx, {
          actor: input.actor.name,
          action: 'registered_model.create',
          entityType: 'registered_model',
          entityId: row.id,
          after: row,
          details: { name },
        });
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const twin = await repo.findModelByKey({ tx: db, key });
      throw sameName(name, twin?.name ?? name);
    }
    return view(row);
  }

  /** The model, created if missing (registering a version into a new name creates the model). */
  async function ensure(actor: Actor, name: string): Promise<RegisteredModelTable> {
    const found = await repo.findModelByKey({ tx: db, key: modelNameKey(checkModelName(name, 'model')) });
    if (found && found.deleted_at === null) return found;
    try {
      await create({ actor, name, field: 'model' });
    } catch (err) {
      // Another registration created it at the same moment: use theirs.
      if ((err as { code?: string }).code !== 'ALREADY_EXISTS') throw err;
    }
    return getModelRow(db, name);
  }

  /** Records a new version with the next number; the number is handed out under the model's lock. */
  async function addVersion(input: {
    actor: Actor;
    model: string;
    facts: VersionFacts;
    description?: string | undefined;
    tags?: Record<string, string> | undefined;
  }): Promise<ModelVersion> {
    const model = await ensure(input.actor, input.model);
    const f = input.facts;
    const row = await inTransaction(db, async (tx) => {
      const now = clock.now();
      const version = await repo.nextVersionNumber({ tx, modelId: model.id, at: now });
      const values: ModelVersionTable = {
        id: newId('mv', now),
        model_id: model.id,
        version,
        run_id: f.runId,
        source: f.source,
        format: f.format,
        sha256: f.sha256,
        size: f.size,
        files: JSON.stringify(f.files),
        signature: f.signature ? JSON.stringify(f.signature) : null,
        dataset_version_ids: JSON.stringify(f.datasetVersionIds),
        code_commit: f.codeCommit,
        command: f.command,
        params: JSON.stringify(f.params),
        metrics: JSON.stringify(f.metrics),
        environment: JSON.stringify(f.environment),
        run_author: f.runAuthor,
        description: input.description ?? null,
        tags: JSON.stringify(input.tags ?? {}),
        card: '{}',
        created_by: input.actor.name,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      };
      await repo.insertVersion({ tx, row: values });
      await audit.append(tx, {
        actor: input.actor.name,
        action: 'model_version.create',
        entityType: 'model_version',
        entityId: values.id,
        after: values,
        details: { model: model.name, version, runId: f.runId, sha256: f.sha256, format: f.format },
        governed: [governedRow('model_versions', values)],
      });
      await events.emit(
        tx,
        'model_version.created',
        {
          model: model.name,
          version,
          runId: f.runId,
          sha256: f.sha256,
          format: f.format,
          actor: input.actor.name,
        },
        { actor: input.actor.name },
      );
      return values;
    });
    return toVersion(row, model.name, []);
  }

  /** Renames and/or re-describes a model; a new name must not collide with another after normalisation. */
  async function update(input: {
    actor: Actor;
    name: string;
    newName?: string | undefined;
    description?: string | undefined;
    tags?: Record<string, string | null> | undefined;
  }): Promise<RegisteredModel> {
    const newName = input.newName === undefined ? undefined : checkNewModelName(input.newName, 'newName');
    const id = await inTransaction(db, async (tx) => {
      const row = await getModelRow(tx, input.name);
      const set: Partial<RegisteredModelTable> = { updated_at: clock.now() };
      if (newName !== undefined) {
        const key = modelNameKey(newName);
        const twin = await repo.findModelByKey({ tx, key });
        if (twin && twin.id !== row.id) throw sameName(newName, twin.name);
        await assertNoLookAlike(tx, newName, row.id, 'newName');
        Object.assign(set, { name: newName, name_key: key });
      }
      if (input.description !== undefined) set.description = input.description;
      if (input.tags) set.tags = JSON.stringify(patchTags(JSON.parse(row.tags), input.tags));
      await repo.updateModel({ tx, id: row.id, set });
      await audit.append(tx, {
        actor: input.actor.name,
        action: newName !== undefined ? 'registered_model.rename' : 'registered_model.update',
        entityType: 'registered_model',
        entityId: row.id,
        before: { name: row.name, description: row.description, tags: row.tags },
        after: set,
        details: newName !== undefined ? { from: row.name, to: newName } : { name: row.name },
      });
      return row.id;
    });
    const row = await repo.findModelById({ tx: db, id });
    return view(row!);
  }

  /** Soft-deletes a model; refused while an alias points into it (move or delete the aliases first). */
  async function remove(input: { actor: Actor; name: string }): Promise<void> {
    await inTransaction(db, async (tx) => {
      const row = await getModelRow(tx, input.name);
      const held = await aliases.listAliases({ tx, modelIds: [row.id] });
      if (held.length > 0) {
        throw new ConflictError(
          `model '${row.name}' still has aliases (${held.map((a) => `${a.alias} -> ${a.version}`).join(', ')}); delete them first`,
          { field: 'name' },
        );
      }
      const now = clock.now();
      await repo.updateModel({ tx, id: row.id, set: { deleted_at: now, updated_at: now, name_key: null } });
      await audit.append(tx, {
        actor: input.actor.name,
        action: 'registered_model.delete',
        entityType: 'registered_model',
        entityId: row.id,
        before: { name: row.name },
        details: { name: row.name },
      });
    });
  }

  /** Changes a version's description, tags or editable card fields (an empty value clears a field). */
  async function updateVersion(input: {
    actor: Actor;
    model: string;
    version: number;
    description?: string | undefined;
    tags?: Record<string, string | null> | undefined;
    card?: Record<string, string> | undefined;
  }): Promise<ModelVersion> {
    const card = input.card === undefined ? undefined : parseOrThrow(cardFieldsSchema, input.card, 'card');
    const { model, row } = await inTransaction(db, async (tx) => {
      const model = await getModelRow(tx, input.model);
      const row = await getVersionRow(tx, model, input.version);
      const set: Partial<ModelVersionTable> = { updated_at: clock.now() };
      if (input.description !== undefined) set.description = input.description;
      if (input.tags) set.tags = JSON.stringify(patchTags(JSON.parse(row.tags), input.tags));
      if (card) {
        const merged: Partial<Record<CardField, string>> = { ...JSON.parse(row.card), ...card };
        for (const [k, v] of Object.entries(merged)) if (!v?.trim()) delete merged[k as CardField];
        set.card = JSON.stringify(merged);
      }
      await repo.updateVersion({ tx, id: row.id, set });
      await audit.append(tx, {
        actor: input.actor.name,
        action: card ? 'model_version.card.update' : 'model_version.update',
        entityType: 'model_version',
        entityId: row.id,
        before: { description: row.description, tags: row.tags, card: row.card },
        after: set,
        details: { model: model.name, version: row.version, ...(card ? { fields: Object.keys(card) } : {}) },
      });
      return { model, row: { ...row, ...set } };
    });
    return versionView(model, row);
  }

  /** Soft-deletes a version; its number is never handed out again. Refused while an alias holds it. */
  async function removeVersion(input: { actor: Actor; model: string; version: number }): Promise<void> {
    await inTransaction(db, async (tx) => {
      const model = await getModelRow(tx, input.model);
      const row = await getVersionRow(tx, model, input.version);
      const held = (await aliasesByVersion(tx, model.id)).get(row.version) ?? [];
      if (held.length > 0) {
        throw new ConflictError(
          `${model.name}@${row.version} holds alias ${held.join(', ')}; move the alias before deleting the version`,
          { field: 'version' },
        );
      }
      const now = clock.now();
      await repo.updateVersion({ tx, id: row.id, set: { deleted_at: now, updated_at: now } });
      await audit.append(tx, {
        actor: input.actor.name,
        action: 'model_version.delete',
        entityType: 'model_version',
        entityId: row.id,
        before: { model: model.name, version: row.version, sha256: row.sha256 },
        details: { model: model.name, version: row.version },
        governed: [governedRow('model_versions', { ...row, deleted_at: now })],
      });
    });
  }

  return {
    create,
    ensure,
    addVersion,
    get,
    list,
    update,
    remove,
    getVersion,
    getVersionIn,
    listVersions,
    updateVersion,
    removeVersion,
  };
}

function sameName(asked: string, existing: string) {
  const err = new AlreadyExistsError('registered model', existing);
  if (asked !== existing) {
    err.message = `registered model '${existing}' already exists, and '${asked}' is the same name (names are compared after URL-decoding, Unicode normalisation and case folding)`;
  }
  return err;
}

function patchTags(current: Record<string, string>, patch: Record<string, string | null>) {
  const out = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (!k.trim()) throw new ValidationError('tags: a tag key may not be empty', { field: 'tags' });
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

export type ModelService = ReturnType<typeof createModelService>;
