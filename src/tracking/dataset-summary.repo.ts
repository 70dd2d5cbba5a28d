import type { Executor } from '../store/index.js';

/**
 * The datasets runs of these experiments read, newest first, one row per (experiment, name, digest,
 * context). The context is the input's `mlflow.data.context` tag (training, eval, ...).
 */
export async function listDatasetSummaries({
  tx,
  experimentIds,
  limit,
}: {
  tx: Executor;
  experimentIds: number[];
  limit: number;
}) {
  if (experimentIds.length === 0) return [];
  const rows = await tx
    .selectFrom('run_inputs')
    .innerJoin('runs', 'runs.id', 'run_inputs.run_id')
    .select([
      'runs.experiment_id',
      'run_inputs.name',
      'run_inputs.digest',
      'run_inputs.tags',
      'run_inputs.created_at',
    ])
    .where('runs.experiment_id', 'in', experimentIds)
    .where('runs.lifecycle_stage', '=', 'active')
    .where('run_inputs.direction', '=', 'input')
    .where('run_inputs.kind', '=', 'dataset')
    .orderBy('run_inputs.created_at', 'desc')
    .orderBy('run_inputs.id', 'desc')
    .limit(limit * 10)
    .execute();
  const seen = new Map<
    string,
    { experimentId: string; name: string; digest: string; context: string | null }
  >();
  for (const r of rows) {
    const tags = r.tags ? (JSON.parse(r.tags) as Record<string, string>) : {};
    const context = tags['mlflow.data.context'] ?? null;
    const key = JSON.stringify([r.experiment_id, r.name, r.digest, context]);
    if (!seen.has(key))
      seen.set(key, { experimentId: String(r.experiment_id), name: r.name, digest: r.digest, context });
    if (seen.size >= limit) break;
  }
  return [...seen.values()];
}
