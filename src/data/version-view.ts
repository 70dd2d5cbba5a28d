import { toIso } from '../core/clock.js';
import type { Executor } from '../store/index.js';
import type { DatasetVersionTable } from '../store/schema-data.js';
import * as repo from './dataset.repo.js';
import type { DatasetVersion, TableFormat, VersionSummary, VersionTable } from './dataset.schema.js';
import { formatRef } from './dataset-ref.js';

/** Optional text columns become absent properties, as the API shows them. */
function optional<K extends string>(key: K, v: string | null): { [P in K]?: string } {
  return (v === null ? {} : { [key]: v }) as { [P in K]?: string };
}

/** Summaries of version rows: parents as refs, tags, counts. */
export async function toSummaries(tx: Executor, rows: DatasetVersionTable[]): Promise<VersionSummary[]> {
  const ids = rows.map((r) => r.id);
  const [parents, tags] = await Promise.all([
    repo.listParents({ tx, versionIds: ids }),
    repo.listTagsOf({ tx, versionIds: ids }),
  ]);
  const parentRows = await repo.findVersionsByIds({ tx, ids: [...new Set(parents.map((p) => p.parent_id))] });
  const datasetIds = [...new Set([...rows, ...parentRows].map((r) => r.dataset_id))];
  const names = new Map((await repo.listDatasetsByIds({ tx, ids: datasetIds })).map((d) => [d.id, d.name]));
  const parentRef = new Map(
    parentRows.map((p) => [p.id, formatRef(names.get(p.dataset_id) ?? '?', p.number)]),
  );
  return rows.map((r) => ({
    id: r.id,
    digest: r.digest,
    dataset: names.get(r.dataset_id) ?? '?',
    number: r.number,
    createdAt: toIso(r.created_at),
    createdBy: r.created_by,
    ...optional('description', r.description),
    ...optional('source', r.source),
    pii: r.pii === 1,
    fileCount: r.file_count,
    totalSize: r.total_size,
    parents: parents
      .filter((p) => p.version_id === r.id)
      .map((p) => parentRef.get(p.parent_id) ?? p.parent_id),
    ...optional('producedByRunId', r.produced_by_run_id),
    tags: tags.filter((t) => t.version_id === r.id).map((t) => t.tag),
  }));
}

/** The full version: metadata, manifest, tables with schema and profile, parents (ids) and tags. */
export async function toVersion(
  tx: Executor,
  row: DatasetVersionTable,
  dataset: string,
): Promise<DatasetVersion> {
  const [files, tables, parents, tags] = await Promise.all([
    repo.listFiles({ tx, versionId: row.id }),
    repo.listTables({ tx, versionId: row.id }),
    repo.listParents({ tx, versionIds: [row.id] }),
    repo.listTagsOf({ tx, versionIds: [row.id] }),
  ]);
  return {
    id: row.id,
    digest: row.digest,
    dataset,
    number: row.number,
    createdAt: toIso(row.created_at),
    createdBy: row.created_by,
    ...optional('source', row.source),
    ...optional('description', row.description),
    ...optional('owner', row.owner),
    ...optional('license', row.license),
    pii: row.pii === 1,
    parents: parents.map((p) => p.parent_id),
    ...optional('producedByRunId', row.produced_by_run_id),
    files: files.map((f) => ({ path: f.path, size: Number(f.size), sha256: f.sha256 })),
    tables: tables.map(
      (t): VersionTable => ({
        path: t.path,
        format: t.format as TableFormat,
        rowCount: Number(t.row_count),
        schema: JSON.parse(t.schema),
        profile: JSON.parse(t.profile),
      }),
    ),
    tags: tags.map((t) => t.tag),
  };
}
