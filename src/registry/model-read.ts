import type { Executor } from '../store/index.js';
import type { ModelVersionTable, RegisteredModelTable } from '../store/schema-registry.js';
import * as aliases from './alias.repo.js';
import { aliasesByVersion, getModelRow, getModelRowById, resolveRef, resolveSelector } from './lookups.js';
import * as repo from './model.repo.js';
import { modelNameKey } from './model-name.js';
import type { ModelVersion, RegisteredModel } from './registry.schema.js';
import { toModel, toVersion } from './registry-view.js';

/**
 * Reading registered models and their versions. It needs only the database, so a listing (`models ls`,
 * `models show`) is answered without building the event bus, policies or promotions the writes need.
 */
export function createModelReader(db: Executor) {
  async function view(row: RegisteredModelTable): Promise<RegisteredModel> {
    const [latest, held] = await Promise.all([
      repo.latestVersionNumbers({ tx: db, modelIds: [row.id] }),
      aliases.listAliases({ tx: db, modelIds: [row.id] }),
    ]);
    return toModel(
      row,
      latest.get(row.id),
      held.map((a) => ({ alias: a.alias, version: a.version })),
    );
  }

  async function versionView(model: RegisteredModelTable, row: ModelVersionTable): Promise<ModelVersion> {
    const held = await aliasesByVersion(db, model.id);
    return toVersion(row, model.name, held.get(row.version) ?? []);
  }

  async function get(name: string): Promise<RegisteredModel> {
    return view(await getModelRow(db, name));
  }

  async function list(q: { nameContains?: string; offset?: number; limit?: number } = {}) {
    const limit = q.limit ?? 100;
    const like =
      q.nameContains === undefined ? undefined : `%${modelNameKey(q.nameContains).replace(/[%_\\]/g, '')}%`;
    const rows = await repo.listModels({
      tx: db,
      ...(like ? { nameLike: like } : {}),
      offset: q.offset ?? 0,
      limit: limit + 1,
    });
    const models = await Promise.all(rows.slice(0, limit).map(view));
    return { models, more: rows.length > limit };
  }

  async function getVersion(ref: string): Promise<ModelVersion> {
    const { model, version } = await resolveRef(db, ref);
    return versionView(model, version);
  }

  /** `<n>`, `<alias>` or `latest` inside the model with this id, whatever it is called now. */
  async function getVersionIn(modelId: string, selector: string): Promise<ModelVersion> {
    const { model, version } = await resolveSelector(db, await getModelRowById(db, modelId), selector);
    return versionView(model, version);
  }

  async function listVersions(q: {
    model?: string;
    runId?: string;
    /** Versions registered from exactly this source (e.g. `models:/<logged model id>`). */
    source?: string;
    offset?: number;
    limit?: number;
  }) {
    const limit = q.limit ?? 100;
    const model = q.model === undefined ? undefined : await getModelRow(db, q.model);
    const rows = await repo.listVersions({
      tx: db,
      ...(model ? { modelId: model.id } : {}),
      ...(q.runId ? { runId: q.runId } : {}),
      ...(q.source ? { source: q.source } : {}),
      offset: q.offset ?? 0,
      limit: limit + 1,
    });
    const models = new Map<string, RegisteredModelTable>();
    const out: ModelVersion[] = [];
    for (const r of rows.slice(0, limit)) {
      let m = models.get(r.model_id);
      if (!m) {
        m = (await repo.findModelById({ tx: db, id: r.model_id }))!;
        models.set(r.model_id, m);
      }
      out.push(await versionView(m, r));
    }
    return { versions: out, more: rows.length > limit };
  }

  return { view, versionView, get, list, getVersion, getVersionIn, listVersions };
}

export type ModelReader = ReturnType<typeof createModelReader>;
