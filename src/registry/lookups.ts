import { NotFoundError } from '../core/errors.js';
import type { Executor } from '../store/index.js';
import type { ModelVersionTable, RegisteredModelTable } from '../store/schema-registry.js';
import * as aliases from './alias.repo.js';
import * as repo from './model.repo.js';
import { checkModelName, modelNameKey, splitRef } from './model-name.js';
import { aliasSchema } from './registry.schema.js';

/*
 * Lookups every registry service shares: a model by name (any spelling that normalises to its key),
 * a version by ref, and the aliases a version holds. Each throws NotFoundError naming what is missing.
 */

export async function getModelRow(tx: Executor, name: string): Promise<RegisteredModelTable> {
  const row = await repo.findModelByKey({ tx, key: modelNameKey(name) });
  if (!row || row.deleted_at !== null) throw new NotFoundError('registered model', name);
  return row;
}

export async function getVersionRow(
  tx: Executor,
  model: RegisteredModelTable,
  version: number,
): Promise<ModelVersionTable> {
  const row = await repo.findVersion({ tx, modelId: model.id, version });
  if (!row || row.deleted_at !== null) throw new NotFoundError('model version', `${model.name}@${version}`);
  return row;
}

/** A live model by its id (a rename keeps it; a new model of the old name is another id). */
export async function getModelRowById(tx: Executor, id: string): Promise<RegisteredModelTable> {
  const row = await repo.findModelById({ tx, id });
  if (!row || row.deleted_at !== null) throw new NotFoundError('registered model', id);
  return row;
}

/** A version by `<model>@<n>`, `<model>@<alias>` or `<model>@latest`. */
export async function resolveRef(
  tx: Executor,
  ref: string,
  field = 'ref',
): Promise<{ model: RegisteredModelTable; version: ModelVersionTable }> {
  const { model: name, selector } = splitRef(ref, field);
  checkModelName(name, field);
  return resolveSelector(tx, await getModelRow(tx, name), selector);
}

/** The version `<n>`, `<alias>` or `latest` names inside one model. */
export async function resolveSelector(
  tx: Executor,
  model: RegisteredModelTable,
  selector: string,
): Promise<{ model: RegisteredModelTable; version: ModelVersionTable }> {
  if (/^\d+$/.test(selector)) return { model, version: await getVersionRow(tx, model, Number(selector)) };
  if (selector === 'latest') {
    const latest = await repo.findLatestVersion({ tx, modelId: model.id });
    if (!latest) throw new NotFoundError('model version', `${model.name}@latest`);
    return { model, version: latest };
  }
  const alias = aliasSchema.safeParse(selector);
  if (!alias.success) throw new NotFoundError('alias', `${model.name}@${selector}`);
  const row = await aliases.findAlias({ tx, modelId: model.id, alias: selector });
  if (!row) throw new NotFoundError('alias', `${model.name}@${selector}`);
  return { model, version: await getVersionRow(tx, model, row.version) };
}

/** Aliases held by each version of a model: version -> [alias]. */
export async function aliasesByVersion(tx: Executor, modelId: string): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const a of await aliases.listAliases({ tx, modelIds: [modelId] })) {
    out.set(a.version, [...(out.get(a.version) ?? []), a.alias]);
  }
  return out;
}
