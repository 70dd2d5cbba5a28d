import { sql } from 'kysely';
import type { Executor } from '../../store/index.js';

/**
 * A usage row with what attribution groups it by: its run's experiment, parent run and one tag. An
 * aggregated row (many records fully inside one price interval, summed in SQL) has `rows` > 1, its
 * allocated quantities already summed (cpu_seconds: core-seconds, peak_memory_bytes: byte-seconds
 * with wall_seconds 1) and a zero-length interval at the start of its price interval.
 */
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
  /** Storage records: bytes held (an aggregate: byte-seconds, wall_seconds 1). */
  storage_bytes: number | null;
  dataset_version_id: string | null;
  /** Storage records: what holds the bytes ('dataset', 'run', 'model'); null for compute. */
  storage_of: string | null;
  rows?: number;
}

/** What a storage record is attributed to; null for compute records. */
const storageOf = sql<string | null>`case when u.storage_bytes is null then null
  when u.dataset_version_id is not null then 'dataset'
  when u.model_version_id is not null then 'model' else 'run' end`;

/** What a report groups by, as far as the query needs to know: which key columns to carry. */
export type GroupDimension = 'experiment' | 'run' | 'deployment' | 'model' | 'tag' | 'cause';

function joined(tx: Executor, tagKey: string | undefined) {
  const q = tx
    .selectFrom('cost_usage as u')
    .leftJoin('runs as r', 'r.id', 'u.run_id')
    .leftJoin('experiments as e', 'e.id', 'r.experiment_id')
    .leftJoin('run_tags as p', (j) =>
      j.onRef('p.run_id', '=', 'u.run_id').on('p.key', '=', 'mlflow.parentRunId'),
    )
    .leftJoin('run_tags as t', (j) => j.onRef('t.run_id', '=', 'u.run_id').on('t.key', '=', tagKey ?? ''))
    .leftJoin('run_tags as pt', (j) => j.onRef('pt.run_id', '=', 'p.value').on('pt.key', '=', tagKey ?? ''));
  return q;
}

/** a > b ? a : b, written the same on both dialects (SQLite's max(a, b) is PostgreSQL's greatest). */
const larger = (a: ReturnType<typeof sql>, b: ReturnType<typeof sql>) =>
  sql<number>`case when ${a} > ${b} then ${a} else ${b} end`;

/**
 * Records fully inside [a, b) with no capacity (instance) figure, summed in SQL per group key and GPU
 * model: the bulk of a report over 100,000 runs in one aggregate query instead of 100,000 rows.
 */
export async function aggregateInside({
  tx,
  a,
  b,
  dimension,
  tagKey,
}: {
  tx: Executor;
  a: number;
  b: number;
  dimension: GroupDimension;
  tagKey?: string;
}): Promise<AttributedUsageRow[]> {
  const keys = {
    experiment: [sql<string | null>`e.name`, sql<string | null>`u.deployment_id`],
    run: [sql<string | null>`coalesce(p.value, u.run_id)`],
    deployment: [sql<string | null>`u.deployment_id`],
    model: [
      sql<string | null>`u.model_version_id`,
      sql<string | null>`u.run_id`,
      sql<string | null>`p.value`,
    ],
    tag: [sql<string | null>`coalesce(t.value, pt.value)`],
    // Causes: the top-level run (a sweep's trials roll up), the deployment, the run's experiment.
    cause: [
      sql<string | null>`coalesce(p.value, u.run_id)`,
      sql<string | null>`u.deployment_id`,
      sql<string | null>`e.name`,
    ],
  }[dimension];
  const k = (i: number) => keys[i] ?? sql<string | null>`null`;
  const cpu = larger(sql`coalesce(u.requested_cpus, 0) * u.wall_seconds`, sql`coalesce(u.cpu_seconds, 0)`);
  const mem = sql`${larger(sql`coalesce(u.requested_memory_bytes, 0)`, sql`coalesce(u.peak_memory_bytes, 0)`)} * u.wall_seconds`;
  // Only the joins this grouping reads: a report by experiment need not look up tags.
  const needsRun = dimension === 'experiment' || dimension === 'cause';
  const needsParent =
    dimension === 'run' || dimension === 'model' || dimension === 'tag' || dimension === 'cause';
  const rows = await tx
    .selectFrom('cost_usage as u')
    .$if(needsRun, (q) =>
      q.leftJoin('runs as r', 'r.id', 'u.run_id').leftJoin('experiments as e', 'e.id', 'r.experiment_id'),
    )
    .$if(needsParent, (q) =>
      q.leftJoin('run_tags as p', (j) =>
        j.onRef('p.run_id', '=', 'u.run_id').on('p.key', '=', 'mlflow.parentRunId'),
      ),
    )
    .$if(dimension === 'tag', (q) =>
      q
        .leftJoin('run_tags as t', (j) => j.onRef('t.run_id', '=', 'u.run_id').on('t.key', '=', tagKey ?? ''))
        .leftJoin('run_tags as pt', (j) =>
          j.on(sql<boolean>`pt.run_id = p.value and pt.key = ${tagKey ?? ''}`),
        ),
    )
    .select([
      k(0).as('k0'),
      k(1).as('k1'),
      k(2).as('k2'),
      'u.gpu_model',
      sql<number>`sum(${cpu})`.as('cpu'),
      sql<number>`sum(${mem})`.as('mem'),
      sql<number>`sum(coalesce(u.gpu_seconds, 0))`.as('gpu'),
      sql<number>`sum(coalesce(u.storage_bytes, 0) * u.wall_seconds)`.as('stor'),
      sql<string | null>`u.dataset_version_id`.as('dsv'),
      storageOf.as('storage_of'),
      sql<number>`count(*)`.as('n'),
    ])
    .where('u.started_at', '>=', a)
    .where('u.ended_at', '<=', b)
    .where('u.started_at', '<', b)
    .where('u.instance_type', 'is', null)
    .groupBy([...keys, sql`u.gpu_model`, sql`u.dataset_version_id`, storageOf])
    .execute();
  return rows.map((r) => {
    const row: AttributedUsageRow = {
      id: '',
      kind: 'aggregate',
      run_id: null,
      deployment_id: null,
      model_version_id: null,
      started_at: a,
      ended_at: a,
      wall_seconds: 1,
      cpu_seconds: Number(r.cpu),
      peak_memory_bytes: Number(r.mem),
      requested_cpus: null,
      requested_memory_bytes: null,
      gpu_model: r.gpu_model,
      gpu_seconds: Number(r.gpu),
      instance_type: null,
      instance_seconds: null,
      experiment: null,
      parent_run_id: null,
      tag_value: null,
      parent_tag_value: null,
      storage_bytes: Number(r.stor),
      dataset_version_id: r.dsv,
      storage_of: r.storage_of,
      rows: Number(r.n),
    };
    if (dimension === 'experiment') Object.assign(row, { experiment: r.k0, deployment_id: r.k1 });
    else if (dimension === 'run') row.run_id = r.k0;
    else if (dimension === 'deployment') row.deployment_id = r.k0;
    else if (dimension === 'model')
      Object.assign(row, { model_version_id: r.k0, run_id: r.k1, parent_run_id: r.k2 });
    else if (dimension === 'cause')
      Object.assign(row, { run_id: r.k0, deployment_id: r.k1, experiment: r.k2 });
    else row.tag_value = r.k0;
    return row;
  });
}

/**
 * The records aggregateInside leaves out, one by one: those with a capacity figure (idle is per
 * record), and those overlapping [from, to) that cross one of the cuts (the range's ends, a price
 * change), which are prorated.
 */
export function usageOneByOne({
  tx,
  from,
  to,
  cuts,
  tagKey,
}: {
  tx: Executor;
  from: number;
  to: number;
  cuts: number[];
  tagKey?: string;
}): Promise<AttributedUsageRow[]> {
  return (
    joined(tx, tagKey)
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
        't.value as tag_value',
        'pt.value as parent_tag_value',
        'u.storage_bytes',
        'u.dataset_version_id',
        storageOf.as('storage_of'),
      ])
      // Overlap, with a zero-length interval at `from` counted in.
      .where('u.started_at', '<', to)
      .where((eb) => eb.or([eb('u.ended_at', '>', from), eb('u.started_at', '>=', from)]))
      .where((eb) =>
        eb.or([
          eb('u.instance_type', 'is not', null),
          ...cuts.map((c) => eb.and([eb('u.started_at', '<', c), eb('u.ended_at', '>', c)])),
        ]),
      )
      .execute()
  );
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

/** `dataset:<name>` labels of dataset version ids (storage attributed to datasets). */
export async function datasetLabels({ tx, ids }: { tx: Executor; ids: string[] }) {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const rows = await tx
    .selectFrom('dataset_versions as v')
    .innerJoin('datasets as d', 'd.id', 'v.dataset_id')
    .select(['v.id', 'd.name'])
    .where('v.id', 'in', ids)
    .execute();
  for (const r of rows) out.set(r.id, `dataset:${r.name}`);
  return out;
}

/** What the causes of a change read about a run with child runs (a sweep, a pipeline run). */
export interface ParentRunFacts {
  name: string;
  experiment: string | null;
  /** True for a sweep's parent (tag sextant.sweep.role = parent). */
  sweep: boolean;
  /** The sweep's early_stop param ('none', 'median(...)'), when it logged one. */
  earlyStop: string | null;
  children: number;
  /** Children tagged sextant.early_stopped = true (trials the median rule stopped). */
  stopped: number;
}

/** Of these run ids, those with child runs (mlflow.parentRunId), with their children counted. */
export async function parentRunFacts({ tx, runIds }: { tx: Executor; runIds: string[] }) {
  const out = new Map<string, ParentRunFacts>();
  const CHUNK = 1_000;
  for (let i = 0; i < runIds.length; i += CHUNK) {
    const ids = runIds.slice(i, i + CHUNK);
    const kids = await tx
      .selectFrom('run_tags as c')
      .leftJoin('run_tags as s', (j) =>
        j
          .onRef('s.run_id', '=', 'c.run_id')
          .on('s.key', '=', 'sextant.early_stopped')
          .on('s.value', '=', 'true'),
      )
      .select([
        'c.value as parent',
        sql<number>`count(*)`.as('n'),
        sql<number>`count(s.run_id)`.as('stopped'),
      ])
      .where('c.key', '=', 'mlflow.parentRunId')
      .where('c.value', 'in', ids)
      .groupBy('c.value')
      .execute();
    if (kids.length === 0) continue;
    const parents = await tx
      .selectFrom('runs as r')
      .leftJoin('experiments as e', 'e.id', 'r.experiment_id')
      .leftJoin('run_tags as role', (j) =>
        j.onRef('role.run_id', '=', 'r.id').on('role.key', '=', 'sextant.sweep.role'),
      )
      .leftJoin('params as es', (j) => j.onRef('es.run_id', '=', 'r.id').on('es.key', '=', 'early_stop'))
      .select(['r.id', 'r.name', 'e.name as experiment', 'role.value as role', 'es.value as early_stop'])
      .where(
        'r.id',
        'in',
        kids.map((k) => k.parent),
      )
      .execute();
    const byId = new Map(parents.map((p) => [p.id, p]));
    for (const k of kids) {
      const p = byId.get(k.parent);
      out.set(k.parent, {
        name: p?.name ?? k.parent,
        experiment: p?.experiment ?? null,
        sweep: p?.role === 'parent',
        earlyStop: p?.early_stop ?? null,
        children: Number(k.n),
        stopped: Number(k.stopped),
      });
    }
  }
  return out;
}

/** A deployment's metered serving in a period: hours, hours with no request, requests. */
export interface DeploymentTraffic {
  hours: number;
  idleHours: number;
  predictions: number;
}

/**
 * Per deployment, the serving hours metered in [from, to) (records counted by their start) and the
 * hours of records that served no prediction: what "idle" means in the causes of a change.
 */
export async function deploymentTraffic({ tx, from, to }: { tx: Executor; from: number; to: number }) {
  const rows = await tx
    .selectFrom('cost_usage')
    .select([
      'deployment_id',
      sql<number>`sum(wall_seconds)`.as('wall'),
      sql<number>`sum(case when coalesce(predictions, 0) = 0 then wall_seconds else 0 end)`.as('idle'),
      sql<number>`sum(coalesce(predictions, 0))`.as('n'),
    ])
    .where('kind', '=', 'deployment')
    .where('deployment_id', 'is not', null)
    .where('started_at', '>=', from)
    .where('started_at', '<', to)
    .groupBy('deployment_id')
    .execute();
  return new Map<string, DeploymentTraffic>(
    rows.map((r) => [
      r.deployment_id!,
      { hours: Number(r.wall) / 3600, idleHours: Number(r.idle) / 3600, predictions: Number(r.n) },
    ]),
  );
}
