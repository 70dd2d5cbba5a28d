import type { Executor } from '../store/index.js';

/*
 * Read-only queries over the link tables of other domains: dataset versions and their parents (data),
 * run inputs and outputs (tracking), model versions (registry). Every function takes a batch of ids, so a
 * lineage walk costs a few queries per level, not per node.
 */

const none = <T>(): Promise<T[]> => Promise.resolve([]);

/** Dataset versions by id, with their dataset's name. */
export function findVersions({ tx, ids }: { tx: Executor; ids: string[] }) {
  if (ids.length === 0) return none<never>();
  return tx
    .selectFrom('dataset_versions as v')
    .innerJoin('datasets as d', 'd.id', 'v.dataset_id')
    .select([
      'v.id',
      'v.number',
      'v.digest',
      'v.created_at',
      'v.source',
      'v.produced_by_run_id',
      'v.deleted_at',
      'd.name as dataset',
    ])
    .where('v.id', 'in', ids)
    .execute();
}

/** (version, parent) pairs where the version is one of `ids` (side 'child') or the parent is (side 'parent'). */
export function findParentLinks({
  tx,
  ids,
  side,
}: {
  tx: Executor;
  ids: string[];
  side: 'child' | 'parent';
}) {
  if (ids.length === 0) return none<never>();
  return tx
    .selectFrom('dataset_version_parents')
    .select(['version_id', 'parent_id'])
    .where(side === 'child' ? 'version_id' : 'parent_id', 'in', ids)
    .orderBy('position')
    .execute();
}

/** Versions whose producing run is one of `runIds`. */
export function findVersionsProducedBy({ tx, runIds }: { tx: Executor; runIds: string[] }) {
  if (runIds.length === 0) return none<never>();
  return tx
    .selectFrom('dataset_versions')
    .select(['id', 'produced_by_run_id'])
    .where('produced_by_run_id', 'in', runIds)
    .execute();
}

/** Run input/output rows linked to a dataset version, selected by run ids or by version ids. */
export function findRunLinks({
  tx,
  runIds,
  versionIds,
  direction,
}: {
  tx: Executor;
  runIds?: string[];
  versionIds?: string[];
  direction: 'input' | 'output';
}) {
  const ids = runIds ?? versionIds ?? [];
  if (ids.length === 0) return none<never>();
  return tx
    .selectFrom('run_inputs')
    .select(['run_id', 'dataset_version_id'])
    .where('direction', '=', direction)
    .where('dataset_version_id', 'is not', null)
    .where(runIds ? 'run_id' : 'dataset_version_id', 'in', ids)
    .orderBy('id')
    .execute();
}

/** Runs by id, with their experiment's name. */
export function findRuns({ tx, ids }: { tx: Executor; ids: string[] }) {
  if (ids.length === 0) return none<never>();
  return tx
    .selectFrom('runs as r')
    .innerJoin('experiments as e', 'e.id', 'r.experiment_id')
    .select([
      'r.id',
      'r.name',
      'r.status',
      'r.experiment_id',
      'r.start_time',
      'r.end_time',
      'r.lifecycle_stage',
      'e.name as experiment',
    ])
    .where('r.id', 'in', ids)
    .execute();
}

/** Model versions by id, or registered from one of `runIds`, with their model's name. */
export function findModelVersions({ tx, ids, runIds }: { tx: Executor; ids?: string[]; runIds?: string[] }) {
  const keys = ids ?? runIds ?? [];
  if (keys.length === 0) return none<never>();
  return tx
    .selectFrom('model_versions as mv')
    .innerJoin('registered_models as m', 'm.id', 'mv.model_id')
    .select([
      'mv.id',
      'mv.version',
      'mv.run_id',
      'mv.sha256',
      'mv.format',
      'mv.dataset_version_ids',
      'mv.created_at',
      'mv.deleted_at',
      'm.name as model',
    ])
    .where(ids ? 'mv.id' : 'mv.run_id', 'in', keys)
    .execute();
}

/**
 * Model versions registered without a run (from a file) that name one of the dataset versions in their
 * dataset_version_ids JSON. Those are few; the JSON text is matched with LIKE ('_' in an id matches itself
 * or anything, which is fine), then checked exactly.
 */
export async function findRunlessModelVersionsOf({ tx, versionIds }: { tx: Executor; versionIds: string[] }) {
  if (versionIds.length === 0) return [];
  const rows = await tx
    .selectFrom('model_versions')
    .select(['id', 'dataset_version_ids'])
    .where('run_id', 'is', null)
    .where((eb) =>
      eb.or(versionIds.map((v) => eb('dataset_version_ids', 'like', `%"${v.replace(/[%"\\]/g, '')}"%`))),
    )
    .execute();
  const wanted = new Set(versionIds);
  return rows.flatMap((r) =>
    parseIds(r.dataset_version_ids)
      .filter((v) => wanted.has(v))
      .map((v) => ({ id: r.id, versionId: v })),
  );
}

/** A JSON array of ids, or [] when the text is not one. */
export function parseIds(json: string | null): string[] {
  if (!json) return [];
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
