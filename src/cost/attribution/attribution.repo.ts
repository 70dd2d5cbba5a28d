import { sql } from 'kysely';
import type { Executor } from '../../store/index.js';

/** A usage row with what attribution groups it by: its run's experiment, parent run and one tag. */
export interface AttributedUsageRow {
  id: string;
  kind: string;
  run_id: string | null;
  deployment_id: string | null;
  model_version_id: string | null;
  started_at: number;
  ended_at: number;
  wall_seconds: number;
  cpu_seconds: number | null;
  peak_memory_bytes: number | null;
  requested_cpus: number | null;
  requested_memory_bytes: number | null;
  gpu_model: string | null;
  gpu_seconds: number | null;
  instance_type: string | null;
  instance_seconds: number | null;
  experiment: string | null;
  parent_run_id: string | null;
  tag_value: string | null;
  parent_tag_value: string | null;
}

/**
 * Usage overlapping [from, to), with the run's experiment name, its parent run (mlflow.parentRunId: a
 * sweep's or a pipeline run's child) and, when asked, one tag of the run and of its parent. One query,
 * so a report over 100,000 runs is one round trip.
 */
export function usageInRange({
  tx,
  from,
  to,
  tagKey,
}: {
  tx: Executor;
  from: number;
  to: number;
  tagKey?: string;
}): Promise<AttributedUsageRow[]> {
  const q = tx
    .selectFrom('cost_usage as u')
    .leftJoin('runs as r', 'r.id', 'u.run_id')
    .leftJoin('experiments as e', 'e.id', 'r.experiment_id')
    .leftJoin('run_tags as p', (j) =>
      j.onRef('p.run_id', '=', 'u.run_id').on('p.key', '=', 'mlflow.parentRunId'),
    )
    .select([
      'u.id',
      'u.kind',
      'u.run_id',
      'u.deployment_id',
      'u.model_version_id',
      'u.started_at',
      'u.ended_at',
      'u.wall_seconds',
      'u.cpu_seconds',
      'u.peak_memory_bytes',
      'u.requested_cpus',
      'u.requested_memory_bytes',
      'u.gpu_model',
      'u.gpu_seconds',
      'u.instance_type',
      'u.instance_seconds',
      'e.name as experiment',
      'p.value as parent_run_id',
    ])
    // Overlap, with a zero-length interval at `from` counted in.
    .where('u.started_at', '<', to)
    .where((eb) => eb.or([eb('u.ended_at', '>', from), eb('u.started_at', '>=', from)]));
  if (tagKey === undefined)
    return q
      .select([sql<string | null>`null`.as('tag_value'), sql<string | null>`null`.as('parent_tag_value')])
      .execute();
  return q
    .leftJoin('run_tags as t', (j) => j.onRef('t.run_id', '=', 'u.run_id').on('t.key', '=', tagKey))
    .leftJoin('run_tags as pt', (j) => j.onRef('pt.run_id', '=', 'p.value').on('pt.key', '=', tagKey))
    .select(['t.value as tag_value', 'pt.value as parent_tag_value'])
    .execute();
}

/** Model versions by the run that produced them: `model@version` labels per run id. */
export async function modelVersionsOfRuns({ tx, runIds }: { tx: Executor; runIds: string[] }) {
  const out = new Map<string, string[]>();
  const CHUNK = 1_000;
  for (let i = 0; i < runIds.length; i += CHUNK) {
    const rows = await tx
      .selectFrom('model_versions as v')
      .innerJoin('registered_models as m', 'm.id', 'v.model_id')
      .select(['v.run_id', 'm.name', 'v.version'])
      .where('v.run_id', 'in', runIds.slice(i, i + CHUNK))
      .orderBy('v.version')
      .execute();
    for (const r of rows)
      if (r.run_id) out.set(r.run_id, [...(out.get(r.run_id) ?? []), `${r.name}@${r.version}`]);
  }
  return out;
}

/** `model@version` labels of model version ids. */
export async function modelVersionLabels({ tx, ids }: { tx: Executor; ids: string[] }) {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const rows = await tx
    .selectFrom('model_versions as v')
    .innerJoin('registered_models as m', 'm.id', 'v.model_id')
    .select(['v.id', 'm.name', 'v.version'])
    .where('v.id', 'in', ids)
    .execute();
  for (const r of rows) out.set(r.id, `${r.name}@${r.version}`);
  return out;
}

/** Deployment names by id (soft-deleted ones included: their cost happened). */
export async function deploymentNames({ tx, ids }: { tx: Executor; ids: string[] }) {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const rows = await tx.selectFrom('deployments').select(['id', 'name']).where('id', 'in', ids).execute();
  for (const r of rows) out.set(r.id, r.name);
  return out;
}

/** Predictions served per deployment in [from, to), from the prediction log. */
export async function predictionsServed({ tx, from, to }: { tx: Executor; from: number; to: number }) {
  const rows = await tx
    .selectFrom('predictions')
    .select((eb) => ['deployment_id', eb.fn.countAll<number>().as('n')])
    .where('served_at', '>=', from)
    .where('served_at', '<', to)
    .groupBy('deployment_id')
    .execute();
  return new Map(rows.map((r) => [r.deployment_id, Number(r.n)]));
}
