import type { Selectable } from 'kysely';
import type { Executor } from '../store/index.js';
import type {
  PipelineRunTable,
  PipelineStepCacheTable,
  PipelineStepTable,
  PipelineTable,
} from '../store/schema-pipelines.js';

/* The queries of pipelines; every write takes the caller's transaction. */

export type PipelineRow = Selectable<PipelineTable>;
export type PipelineRunRow = Selectable<PipelineRunTable>;
export type PipelineStepRow = Selectable<PipelineStepTable>;

export async function findPipelineByDigest({ tx, name, digest }: { tx: Executor; name: string; digest: string }) {
  return tx
    .selectFrom('pipelines')
    .selectAll()
    .where('name', '=', name)
    .where('digest', '=', digest)
    .executeTakeFirst();
}

export async function findLatestPipeline({ tx, name }: { tx: Executor; name: string }) {
  return tx
    .selectFrom('pipelines')
    .selectAll()
    .where('name', '=', name)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function findPipeline({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('pipelines').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Latest version of each pipeline, by name. */
export async function listLatestPipelines({ tx }: { tx: Executor }): Promise<PipelineRow[]> {
  const rows = await tx.selectFrom('pipelines').selectAll().orderBy('name').orderBy('version', 'desc').execute();
  const seen = new Set<string>();
  return rows.filter((r) => (seen.has(r.name) ? false : (seen.add(r.name), true)));
}

export async function insertPipeline({ tx, values }: { tx: Executor; values: PipelineTable }) {
  await tx.insertInto('pipelines').values(values).execute();
}

export async function insertRun({ tx, values }: { tx: Executor; values: PipelineRunTable }) {
  await tx.insertInto('pipeline_runs').values(values).execute();
}

export async function insertSteps({ tx, values }: { tx: Executor; values: PipelineStepTable[] }) {
  if (values.length) await tx.insertInto('pipeline_steps').values(values).execute();
}

export async function findRun({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('pipeline_runs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listRuns({
  tx,
  pipeline,
  status,
  limit,
  before,
}: {
  tx: Executor;
  pipeline?: string;
  status?: string;
  limit: number;
  before?: string;
}): Promise<PipelineRunRow[]> {
  let q = tx.selectFrom('pipeline_runs').selectAll().orderBy('id', 'desc').limit(limit);
  if (pipeline) q = q.where('pipeline', '=', pipeline);
  if (status) q = q.where('status', '=', status);
  if (before) q = q.where('id', '<', before);
  return q.execute();
}

export async function listSteps({ tx, runId }: { tx: Executor; runId: string }) {
  return tx.selectFrom('pipeline_steps').selectAll().where('run_id', '=', runId).orderBy('name').execute();
}

export async function findStep({ tx, runId, name }: { tx: Executor; runId: string; name: string }) {
  return tx
    .selectFrom('pipeline_steps')
    .selectAll()
    .where('run_id', '=', runId)
    .where('name', '=', name)
    .executeTakeFirst();
}

/**
 * Moves a step on only from one of the statuses given: the conditional UPDATE is how two attempts (or
 * an attempt and a cancel) settle who changes it. False when the step was not in one of them.
 */
export async function updateStep({
  tx,
  runId,
  name,
  from,
  set,
}: {
  tx: Executor;
  runId: string;
  name: string;
  from: string[];
  set: Partial<PipelineStepTable>;
}): Promise<boolean> {
  const r = await tx
    .updateTable('pipeline_steps')
    .set(set)
    .where('run_id', '=', runId)
    .where('name', '=', name)
    .where('status', 'in', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Moves every step of a run in one of `from` to `status`; returns how many moved. */
export async function updateStepsWhere({
  tx,
  runId,
  from,
  set,
}: {
  tx: Executor;
  runId: string;
  from: string[];
  set: Partial<PipelineStepTable>;
}): Promise<number> {
  const r = await tx
    .updateTable('pipeline_steps')
    .set(set)
    .where('run_id', '=', runId)
    .where('status', 'in', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Ends a run that is still running; false when something else ended it first. */
export async function finishRun({
  tx,
  id,
  set,
}: {
  tx: Executor;
  id: string;
  set: Partial<PipelineRunTable>;
}): Promise<boolean> {
  const r = await tx
    .updateTable('pipeline_runs')
    .set(set)
    .where('id', '=', id)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Takes the run's row lock for the rest of the transaction (a no-op write): two steps ending at once
 * would each read the other as still running, and neither would end the run. Locked first, the second
 * reads what the first committed (PostgreSQL); SQLite runs one writer at a time anyway.
 */
export async function lockRun({ tx, id, now }: { tx: Executor; id: string; now: number }) {
  await tx.updateTable('pipeline_runs').set({ updated_at: now }).where('id', '=', id).execute();
}

export async function setRunTracking({ tx, id, trackingRunId }: { tx: Executor; id: string; trackingRunId: string }) {
  await tx.updateTable('pipeline_runs').set({ tracking_run_id: trackingRunId }).where('id', '=', id).execute();
}

export async function activeRuns({ tx, pipeline }: { tx: Executor; pipeline: string }) {
  return tx
    .selectFrom('pipeline_runs')
    .select(['id', 'created_at', 'trigger_key'])
    .where('pipeline', '=', pipeline)
    .where('status', '=', 'running')
    .orderBy('id')
    .execute();
}

export async function appendLog({
  tx,
  values,
}: {
  tx: Executor;
  values: { run_id: string; step: string; attempt: number; seq: number; chunk: string; created_at: number };
}) {
  await tx.insertInto('pipeline_step_logs').values(values).execute();
}

/** Log chunks of a run after a (step, attempt, seq) position in time order (created_at, then key). */
export async function listLogs({
  tx,
  runId,
  step,
  afterCreated,
  limit,
}: {
  tx: Executor;
  runId: string;
  step?: string;
  afterCreated: number;
  limit: number;
}) {
  let q = tx
    .selectFrom('pipeline_step_logs')
    .selectAll()
    .where('run_id', '=', runId)
    .where('created_at', '>=', afterCreated)
    .orderBy('created_at')
    .orderBy('step')
    .orderBy('attempt')
    .orderBy('seq')
    .limit(limit);
  if (step) q = q.where('step', '=', step);
  return q.execute();
}

export async function findCache({ tx, key }: { tx: Executor; key: string }) {
  return tx.selectFrom('pipeline_step_cache').selectAll().where('cache_key', '=', key).executeTakeFirst();
}

/** Records a cache entry; an entry already there for the key stands (the same inputs made it). */
export async function putCache({ tx, values }: { tx: Executor; values: PipelineStepCacheTable }) {
  await tx
    .insertInto('pipeline_step_cache')
    .values(values)
    .onConflict((oc) => oc.column('cache_key').doNothing())
    .execute();
}
