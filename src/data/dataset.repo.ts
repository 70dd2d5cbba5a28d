import type { Executor, RunInputTable } from '../store/index.js';
import type {
  DatasetTable,
  DatasetVersionFileTable,
  DatasetVersionTable,
  DatasetVersionTableTable,
} from '../store/schema-data.js';

// Rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits (4 columns a row).
const CHUNK = 500;

export async function findDatasetByName({ tx, name }: { tx: Executor; name: string }) {
  return tx
    .selectFrom('datasets')
    .selectAll()
    .where('name', '=', name)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export async function insertDataset({ tx, row }: { tx: Executor; row: DatasetTable }): Promise<void> {
  await tx.insertInto('datasets').values(row).execute();
}

export async function listDatasets({ tx }: { tx: Executor }): Promise<DatasetTable[]> {
  return tx.selectFrom('datasets').selectAll().where('deleted_at', 'is', null).orderBy('name').execute();
}

export async function findVersionById({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('dataset_versions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findVersionsByIds({ tx, ids }: { tx: Executor; ids: string[] }) {
  if (ids.length === 0) return [];
  return tx.selectFrom('dataset_versions').selectAll().where('id', 'in', ids).execute();
}

export async function findVersionByNumber({
  tx,
  datasetId,
  number,
}: {
  tx: Executor;
  datasetId: string;
  number: number;
}) {
  return tx
    .selectFrom('dataset_versions')
    .selectAll()
    .where('dataset_id', '=', datasetId)
    .where('number', '=', number)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export async function findLatestVersion({ tx, datasetId }: { tx: Executor; datasetId: string }) {
  return tx
    .selectFrom('dataset_versions')
    .selectAll()
    .where('dataset_id', '=', datasetId)
    .where('deleted_at', 'is', null)
    .orderBy('number', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Versions whose digest starts with the prefix (at most `limit`, enough to tell "unique" from "ambiguous"). */
export async function findVersionsByDigestPrefix({
  tx,
  datasetId,
  prefix,
  limit = 2,
}: {
  tx: Executor;
  datasetId: string;
  prefix: string;
  limit?: number;
}): Promise<DatasetVersionTable[]> {
  // Range on the sorted column instead of LIKE: the prefix is hex, and this uses the unique index.
  return tx
    .selectFrom('dataset_versions')
    .selectAll()
    .where('dataset_id', '=', datasetId)
    .where('digest', '>=', prefix)
    .where('digest', '<', `${prefix}g`)
    .where('deleted_at', 'is', null)
    .orderBy('digest')
    .limit(limit)
    .execute();
}

export async function findVersionByTag({
  tx,
  datasetId,
  tag,
}: {
  tx: Executor;
  datasetId: string;
  tag: string;
}) {
  return tx
    .selectFrom('dataset_tags')
    .innerJoin('dataset_versions', 'dataset_versions.id', 'dataset_tags.version_id')
    .selectAll('dataset_versions')
    .where('dataset_tags.dataset_id', '=', datasetId)
    .where('dataset_tags.tag', '=', tag)
    .executeTakeFirst();
}

export async function findTag({ tx, datasetId, tag }: { tx: Executor; datasetId: string; tag: string }) {
  return tx
    .selectFrom('dataset_tags')
    .selectAll()
    .where('dataset_id', '=', datasetId)
    .where('tag', '=', tag)
    .executeTakeFirst();
}

export async function upsertTag({
  tx,
  datasetId,
  tag,
  versionId,
  at,
  by,
}: {
  tx: Executor;
  datasetId: string;
  tag: string;
  versionId: string;
  at: number;
  by: string;
}): Promise<void> {
  await tx
    .insertInto('dataset_tags')
    .values({ dataset_id: datasetId, tag, version_id: versionId, updated_at: at, updated_by: by })
    .onConflict((oc) =>
      oc
        .columns(['dataset_id', 'tag'])
        .doUpdateSet({ version_id: versionId, updated_at: at, updated_by: by }),
    )
    .execute();
}

export async function listVersions({ tx, datasetId }: { tx: Executor; datasetId: string }) {
  return tx
    .selectFrom('dataset_versions')
    .selectAll()
    .where('dataset_id', '=', datasetId)
    .where('deleted_at', 'is', null)
    .orderBy('number', 'desc')
    .execute();
}

/** Count and newest version of every dataset, in one query per kind. */
export async function versionCounts({ tx }: { tx: Executor }) {
  return tx
    .selectFrom('dataset_versions')
    .select(['dataset_id', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('number').as('max')])
    .where('deleted_at', 'is', null)
    .groupBy('dataset_id')
    .execute();
}

export async function nextVersionNumber({ tx, datasetId }: { tx: Executor; datasetId: string }) {
  const row = await tx
    .selectFrom('dataset_versions')
    .select((eb) => eb.fn.max('number').as('max'))
    .where('dataset_id', '=', datasetId)
    .executeTakeFirst();
  return Number(row?.max ?? 0) + 1;
}

export async function insertVersion({ tx, row }: { tx: Executor; row: DatasetVersionTable }): Promise<void> {
  await tx.insertInto('dataset_versions').values(row).execute();
}

export async function insertFiles({ tx, rows }: { tx: Executor; rows: DatasetVersionFileTable[] }) {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await tx
      .insertInto('dataset_version_files')
      .values(rows.slice(i, i + CHUNK))
      .execute();
  }
}

export async function insertTables({ tx, rows }: { tx: Executor; rows: DatasetVersionTableTable[] }) {
  for (const row of rows) await tx.insertInto('dataset_version_tables').values(row).execute();
}

export async function insertParents({
  tx,
  versionId,
  parentIds,
}: {
  tx: Executor;
  versionId: string;
  parentIds: string[];
}) {
  if (parentIds.length === 0) return;
  await tx
    .insertInto('dataset_version_parents')
    .values(parentIds.map((parent_id, position) => ({ version_id: versionId, parent_id, position })))
    .execute();
}

export async function listFiles({ tx, versionId }: { tx: Executor; versionId: string }) {
  return tx
    .selectFrom('dataset_version_files')
    .select(['path', 'size', 'sha256'])
    .where('version_id', '=', versionId)
    .orderBy('path')
    .execute();
}

export async function findFile({ tx, versionId, path }: { tx: Executor; versionId: string; path: string }) {
  return tx
    .selectFrom('dataset_version_files')
    .select(['path', 'size', 'sha256'])
    .where('version_id', '=', versionId)
    .where('path', '=', path)
    .executeTakeFirst();
}

export async function listTables({ tx, versionId }: { tx: Executor; versionId: string }) {
  return tx
    .selectFrom('dataset_version_tables')
    .selectAll()
    .where('version_id', '=', versionId)
    .orderBy('path')
    .execute();
}

export async function listParents({ tx, versionIds }: { tx: Executor; versionIds: string[] }) {
  if (versionIds.length === 0) return [];
  return tx
    .selectFrom('dataset_version_parents')
    .selectAll()
    .where('version_id', 'in', versionIds)
    .orderBy('position')
    .execute();
}

export async function listTagsOf({ tx, versionIds }: { tx: Executor; versionIds: string[] }) {
  if (versionIds.length === 0) return [];
  return tx
    .selectFrom('dataset_tags')
    .select(['version_id', 'tag'])
    .where('version_id', 'in', versionIds)
    .orderBy('tag')
    .execute();
}

export async function listDatasetsByIds({ tx, ids }: { tx: Executor; ids: string[] }) {
  if (ids.length === 0) return [];
  return tx.selectFrom('datasets').selectAll().where('id', 'in', ids).execute();
}

/** True when the run exists (data links to runs but never changes them). */
export async function runExists({ tx, runId }: { tx: Executor; runId: string }): Promise<boolean> {
  const row = await tx.selectFrom('runs').select('id').where('id', '=', runId).executeTakeFirst();
  return row !== undefined;
}

/** The producing run's output link, written with the version so the run shows what it made. */
export async function insertRunOutput({ tx, row }: { tx: Executor; row: RunInputTable }): Promise<void> {
  await tx.insertInto('run_inputs').values(row).execute();
}
