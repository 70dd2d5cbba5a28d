import type { Executor } from '../../store/index.js';

/** One blob a referrer holds: who (exactly one id set), which content, how many bytes. */
export interface BlobReference {
  datasetVersionId: string | null;
  runId: string | null;
  modelVersionId: string | null;
  sha256: string;
  size: number;
}

/**
 * Every blob referenced by a live dataset version (its manifest), run (its artifacts) or model version
 * (its files, a JSON list on the version). Soft-deleted referrers no longer count: their bytes are
 * gone at the next garbage collection, and until then nobody should be charged for them.
 */
export async function blobReferences({ tx }: { tx: Executor }): Promise<BlobReference[]> {
  const datasets = await tx
    .selectFrom('dataset_version_files as f')
    .innerJoin('dataset_versions as v', 'v.id', 'f.version_id')
    .select(['f.version_id', 'f.sha256', 'f.size'])
    .where('v.deleted_at', 'is', null)
    .execute();
  const artifacts = await tx
    .selectFrom('artifacts as a')
    .innerJoin('runs as r', 'r.id', 'a.run_id')
    .select(['a.run_id', 'a.sha256', 'a.size'])
    .where('r.deleted_at', 'is', null)
    .execute();
  const versions = await tx
    .selectFrom('model_versions')
    .select(['id', 'files'])
    .where('deleted_at', 'is', null)
    .execute();
  const out: BlobReference[] = [];
  const none = { datasetVersionId: null, runId: null, modelVersionId: null };
  for (const d of datasets)
    out.push({ ...none, datasetVersionId: d.version_id, sha256: d.sha256, size: Number(d.size) });
  for (const a of artifacts) out.push({ ...none, runId: a.run_id, sha256: a.sha256, size: Number(a.size) });
  for (const v of versions)
    for (const f of JSON.parse(v.files) as { sha256: string; size: number }[])
      out.push({ ...none, modelVersionId: v.id, sha256: f.sha256, size: Number(f.size) });
  return out;
}

/** The latest end of recorded storage usage (where the next storage meter interval starts). */
export async function lastStorageUsageEnd({ tx }: { tx: Executor }): Promise<number | undefined> {
  const row = await tx
    .selectFrom('cost_usage')
    .select((eb) => eb.fn.max('ended_at').as('end'))
    .where('kind', '=', 'storage')
    .executeTakeFirst();
  return row?.end === null || row?.end === undefined ? undefined : Number(row.end);
}
