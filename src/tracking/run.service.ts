import { randomInt } from 'node:crypto';
import type { DomainDeps } from '../core/domain-deps.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseOrThrow } from '../core/validate.js';
import { type Executor, inTransaction, type LoggedModelMetricTable, type RunTable } from '../store/index.js';
import * as experiments from './experiment.repo.js';
import * as loggedModelRepo from './logged-model.repo.js';
import { bindSurrogateKeys, checkNumber, metricRows } from './metric-batch.js';
import {
  checkHistoryPageSize,
  decodeHistoryToken,
  encodeHistoryToken,
  HISTORY_BULK_POINTS_MAX,
  HISTORY_BULK_RUNS_MAX,
  type HistoryRow,
  readHistory,
  sampleHistory,
} from './metric-history.js';
import * as metricKeys from './metric-keys.repo.js';
import * as repo from './run.repo.js';
import * as data from './run-data.repo.js';
import { metricValueOut, toRuns } from './run-view.js';
import {
  type CreateRunInput,
  type LogBatch,
  type LogInputsInput,
  logInputsBodySchema,
  type Metric,
  type Run,
  type RunStatus,
  timestampSchema,
} from './tracking.schema.js';

export const RUN_NAME_TAG = 'mlflow.runName';
export const USER_TAG = 'mlflow.user';
export const GIT_COMMIT_TAG = 'mlflow.source.git.commit';
/** Where a client's claimed `user_id` is kept: a claim, never the author of record. */
export const CLAIMED_USER_TAG = 'sextant.claimed.user_id';

const adjectives = [
  'amber',
  'brisk',
  'calm',
  'dapper',
  'eager',
  'fierce',
  'gentle',
  'hazy',
  'keen',
  'lucid',
  'merry',
  'nimble',
  'quiet',
  'rapid',
  'sly',
  'tidy',
  'vivid',
  'witty',
];
const nouns = [
  'badger',
  'crane',
  'dingo',
  'egret',
  'ferret',
  'gecko',
  'heron',
  'ibis',
  'jackal',
  'koala',
  'lemur',
  'marten',
  'newt',
  'otter',
  'puffin',
  'quail',
  'robin',
  'stoat',
];

/** A readable default run name, as MLflow gives one: "brisk-otter-417". */
function generateRunName(): string {
  return `${adjectives[randomInt(adjectives.length)]}-${nouns[randomInt(nouns.length)]}-${randomInt(1000)}`;
}

/** Callbacks a higher layer hands to the run service (tracking never imports those layers). */
export interface RunServiceHooks {
  /**
   * The dataset version a logged input names (by id, ref or dataset name + digest), or undefined when it
   * names none; the data domain provides it so run inputs link to dataset versions.
   */
  resolveDatasetVersion?: (d: {
    name: string;
    digest: string;
    datasetVersionId?: string;
  }) => Promise<string | undefined>;
}

/** Runs and what is logged to them: params (immutable), metrics (history + latest), tags, inputs. */
export function createRunService({ db, dialect, audit, clock }: DomainDeps, hooks: RunServiceHooks = {}) {
  async function getRow(tx: Executor, runId: string): Promise<RunTable> {
    const row = await repo.findRun({ tx, id: runId });
    if (!row) throw new NotFoundError('run', runId);
    return row;
  }

  async function getActiveRow(tx: Executor, runId: string): Promise<RunTable> {
    const row = await getRow(tx, runId);
    if (row.lifecycle_stage !== 'active') {
      throw new ConflictError(`run '${runId}' must be active to change it; it is ${row.lifecycle_stage}`, {
        field: 'run_id',
      });
    }
    return row;
  }

  async function get(runId: string): Promise<Run> {
    const [run] = await toRuns(db, [await getRow(db, runId)]);
    return run!;
  }

  /** Runs by id, in the order given; unknown ids are skipped. */
  async function getMany(runIds: string[]): Promise<Run[]> {
    const rows = await repo.findRuns({ tx: db, ids: runIds });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return toRuns(
      db,
      runIds.flatMap((id) => byId.get(id) ?? []),
    );
  }

  async function create(input: CreateRunInput & { actor: string }): Promise<Run> {
    checkNumber(timestampSchema, input.startTime, 'start_time');
    const now = clock.now();
    const id = newId('run', now);
    const tags = { ...(input.tags ?? {}) };
    const name = input.name ?? tags[RUN_NAME_TAG] ?? generateRunName();
    tags[RUN_NAME_TAG] = name;
    // The author of record is who signed the request: separation of duties reads it, so a client's
    // `user_id` or `mlflow.user` tag (MLflow clients send the OS user) stays a claim, kept as a tag.
    const userId = input.actor;
    if (input.userId !== undefined && input.userId !== input.actor) tags[CLAIMED_USER_TAG] = input.userId;
    await inTransaction(db, async (tx) => {
      const experiment = await experiments.findExperiment({ tx, id: Number(input.experimentId) });
      if (!experiment) throw new NotFoundError('experiment', input.experimentId);
      if (experiment.lifecycle_stage !== 'active') {
        throw new ConflictError(`experiment '${input.experimentId}' is deleted; restore it to add runs`, {
          field: 'experiment_id',
        });
      }
      const values: RunTable = {
        id,
        experiment_id: experiment.id,
        name,
        status: 'RUNNING',
        lifecycle_stage: 'active',
        user_id: userId,
        start_time: input.startTime ?? now,
        end_time: null,
        artifact_uri: `${experiment.artifact_location}/${id}/artifacts`,
        git_commit: input.gitCommit ?? tags[GIT_COMMIT_TAG] ?? null,
        git_dirty: input.gitDirty === undefined ? null : input.gitDirty ? 1 : 0,
        command: input.command ?? null,
        deleted_at: null,
        updated_at: now,
      };
      await repo.insertRun({ tx, values });
      await data.upsertTags({
        tx,
        runId: id,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      });
      await audit.append(tx, {
        actor: input.actor,
        action: 'run.create',
        entityType: 'run',
        entityId: id,
        after: { ...values, tags },
        details: { experimentId: input.experimentId },
      });
    });
    return get(id);
  }

  async function update(input: {
    actor: string;
    runId: string;
    status?: RunStatus;
    endTime?: number;
    name?: string;
  }) {
    checkNumber(timestampSchema, input.endTime, 'end_time');
    await inTransaction(db, async (tx) => {
      const row = await getActiveRow(tx, input.runId);
      const set: Partial<RunTable> = { updated_at: clock.now() };
      if (input.status) set.status = input.status;
      if (input.endTime !== undefined) set.end_time = input.endTime;
      if (input.name) set.name = input.name;
      await repo.updateRun({ tx, id: row.id, set });
      if (input.name)
        await data.upsertTags({ tx, runId: row.id, tags: [{ key: RUN_NAME_TAG, value: input.name }] });
      await audit.append(tx, {
        actor: input.actor,
        action: 'run.update',
        entityType: 'run',
        entityId: row.id,
        before: { status: row.status, endTime: row.end_time, name: row.name },
        after: set,
      });
    });
    return get(input.runId);
  }

  async function setLifecycle(
    actor: string,
    runId: string,
    from: 'active' | 'deleted',
    to: 'active' | 'deleted',
  ) {
    await inTransaction(db, async (tx) => {
      const row = await getRow(tx, runId);
      if (row.lifecycle_stage !== from) {
        throw new ConflictError(`run '${runId}' is ${row.lifecycle_stage}, not ${from}`, { field: 'run_id' });
      }
      const now = clock.now();
      await repo.updateRun({
        tx,
        id: runId,
        set: { lifecycle_stage: to, deleted_at: to === 'deleted' ? now : null, updated_at: now },
      });
      await audit.append(tx, {
        actor,
        action: to === 'deleted' ? 'run.delete' : 'run.restore',
        entityType: 'run',
        entityId: runId,
        before: { lifecycleStage: from },
        after: { lifecycleStage: to },
      });
    });
  }

  /**
   * Logs a batch validated at the edge (logBatchBodySchema: MLflow's limits and key rules) in one
   * transaction with one audit entry. Params are immutable:
   * logging a key again with the same value is accepted, with another value it is refused and
   * nothing of the batch is stored.
   */
  async function logBatch(input: Partial<LogBatch> & { actor: string; runId: string }): Promise<void> {
    const batch: LogBatch = {
      metrics: input.metrics ?? [],
      params: input.params ?? [],
      tags: input.tags ?? [],
    };
    const now = clock.now();
    // Everything that needs no database is done before the transaction, which holds the write lock:
    // the INSERT's parameters are built straight from the batch in one pass (no per-row objects), with
    // each key's latest row beside them.
    const rows = metricRows(input.runId, batch, now);
    const seen = new Map<string, string>();
    for (const p of batch.params) {
      const prior = seen.get(p.key);
      if (prior !== undefined && prior !== p.value) {
        throw new ConflictError(`params: '${p.key}' appears twice in the batch with different values`, {
          field: 'params',
          key: p.key,
        });
      }
      seen.set(p.key, p.value);
    }
    // MLflow 3 writes a model-linked value both to the run (the cells above) and to the model it measures.
    const modelRows: LoggedModelMetricTable[] = [];
    for (const m of batch.metrics) {
      if (!m.modelId) continue;
      const nan = Number.isNaN(m.value);
      modelRows.push({
        run_id: input.runId,
        key: m.key,
        value: nan ? null : m.value,
        is_nan: nan ? 1 : 0,
        timestamp: m.timestamp ?? now,
        step: m.step,
        model_id: m.modelId,
        dataset_name: m.datasetName ?? '',
        dataset_digest: m.datasetDigest ?? '',
      });
    }
    await inTransaction(db, async (tx) => {
      await getActiveRow(tx, input.runId);
      if (batch.params.length > 0) {
        const assertUnchanged = async () => {
          for (const e of await data.findParams({ tx, runId: input.runId, keys: [...seen.keys()] })) {
            if (seen.get(e.key) !== e.value) {
              throw new ConflictError(
                `params: '${e.key}' was already logged as '${e.value}' for run '${input.runId}'; params cannot change (tried '${seen.get(e.key)}')`,
                { field: 'params', key: e.key },
              );
            }
          }
        };
        await assertUnchanged();
        await data.insertParams({ tx, runId: input.runId, params: batch.params });
        // On PostgreSQL a concurrent batch may have logged one of these keys since the check (the insert
        // then kept its value and skipped ours): read them back so the loser is refused, not silently dropped.
        await assertUnchanged();
      }
      if (rows.latest.length > 0) {
        const runNum = await metricKeys.ensureRunNumber({ tx, runId: input.runId });
        const keyIds = await metricKeys.ensureMetricKeyIds({ tx, names: rows.latest.map((l) => l.key) });
        bindSurrogateKeys(rows, runNum, keyIds);
        await data.insertMetricCells({ tx, dialect, cells: rows.cells });
        await data.upsertLatestMetrics({ tx, rows: rows.latest });
      }
      if (modelRows.length > 0) await insertModelMetrics(tx, modelRows);
      if (batch.tags.length > 0) {
        await data.upsertTags({ tx, runId: input.runId, tags: batch.tags });
        const renamed = batch.tags.findLast((t) => t.key === RUN_NAME_TAG);
        if (renamed)
          await repo.updateRun({ tx, id: input.runId, set: { name: renamed.value, updated_at: now } });
      }
      await audit.append(tx, {
        actor: input.actor,
        action: 'run.log_batch',
        entityType: 'run',
        entityId: input.runId,
        after: { batchSha256: rows.digest },
        details: {
          metrics: batch.metrics.length,
          params: batch.params.length,
          tags: batch.tags.length,
          ...(modelRows.length > 0 ? { modelMetrics: modelRows.length } : {}),
        },
      });
    });
  }

  async function deleteTag(input: { actor: string; runId: string; key: string }): Promise<void> {
    await inTransaction(db, async (tx) => {
      await getActiveRow(tx, input.runId);
      if (!(await data.deleteTag({ tx, runId: input.runId, key: input.key }))) {
        throw new NotFoundError('tag', `${input.runId}/${input.key}`);
      }
      await audit.append(tx, {
        actor: input.actor,
        action: 'run.tag.delete',
        entityType: 'run',
        entityId: input.runId,
        before: { key: input.key },
      });
    });
  }

  /** Records dataset versions (or other inputs/outputs) a run read or wrote. */
  async function logInputs(input: LogInputsInput & { actor: string; runId: string }): Promise<void> {
    const parsed = parseOrThrow(logInputsBodySchema, {
      datasets: input.datasets,
      direction: input.direction,
    });
    const now = clock.now();
    const resolve = hooks.resolveDatasetVersion;
    const versionIds = await Promise.all(
      parsed.datasets.map((d) => (resolve ? resolve(d) : Promise.resolve(d.datasetVersionId))),
    );
    await inTransaction(db, async (tx) => {
      await getActiveRow(tx, input.runId);
      const rows = parsed.datasets.map((d, i) => ({
        id: newId('inp', now),
        run_id: input.runId,
        direction: parsed.direction,
        kind: 'dataset',
        name: d.name,
        digest: d.digest,
        source: d.source ?? null,
        source_type: d.sourceType ?? null,
        schema: d.schema ?? null,
        profile: d.profile ?? null,
        tags: d.tags ? JSON.stringify(d.tags) : null,
        dataset_version_id: versionIds[i] ?? null,
        created_at: now,
      }));
      await data.insertInputs({ tx, rows });
      await audit.append(tx, {
        actor: input.actor,
        action: 'run.log_inputs',
        entityType: 'run',
        entityId: input.runId,
        after: parsed,
        details: { datasets: rows.length, direction: parsed.direction },
      });
    });
  }

  const toMetric = (m: HistoryRow): Metric => ({
    key: m.key,
    value: metricValueOut(m.value, m.is_nan),
    timestamp: m.timestamp,
    step: m.step,
  });

  /**
   * One page of a metric's history, at most HISTORY_PAGE_MAX points (read in slices). `fields` names
   * the request fields in errors (MLflow's max_results/page_token or the native maxResults/pageToken).
   */
  async function metricHistory(input: {
    runId: string;
    key: string;
    maxResults: number;
    pageToken?: string;
    fields?: { maxResults: string; pageToken: string };
  }): Promise<{ metrics: Metric[]; nextPageToken?: string }> {
    const fields = input.fields ?? { maxResults: 'maxResults', pageToken: 'pageToken' };
    checkHistoryPageSize(input.maxResults, fields.maxResults);
    const cursor = decodeHistoryToken(input.pageToken, fields.pageToken);
    await getRow(db, input.runId);
    const { rows, more } = await readHistory(
      db,
      { runId: input.runId, key: input.key },
      cursor,
      input.maxResults,
    );
    const last = rows[rows.length - 1];
    return {
      metrics: rows.map(toMetric),
      ...(more && last ? { nextPageToken: encodeHistoryToken(cursor.offset + rows.length, last) } : {}),
    };
  }

  /**
   * MLflow's bulk-interval read: for each distinct run (at most HISTORY_BULK_RUNS_MAX), at most
   * `maxResults` points of the step interval, sampled evenly. A run named twice is read once.
   */
  async function sampledMetricHistories(input: {
    runIds: string[];
    key: string;
    startStep?: number;
    endStep?: number;
    maxResults: number;
  }): Promise<(Metric & { runId: string })[]> {
    const runIds = [...new Set(input.runIds)];
    if (runIds.length === 0 || runIds.length > HISTORY_BULK_RUNS_MAX) {
      throw new ValidationError(`run_ids: give between 1 and ${HISTORY_BULK_RUNS_MAX} distinct run ids`, {
        field: 'run_ids',
        limit: HISTORY_BULK_RUNS_MAX,
      });
    }
    const maxPoints = Math.min(Math.max(1, input.maxResults), HISTORY_BULK_POINTS_MAX);
    const out: (Metric & { runId: string })[] = [];
    for (const runId of runIds) {
      await getRow(db, runId);
      const range = {
        runId,
        key: input.key,
        ...(input.startStep !== undefined ? { startStep: input.startStep } : {}),
        ...(input.endStep !== undefined ? { endStep: input.endStep } : {}),
      };
      for (const m of await sampleHistory(db, range, maxPoints)) out.push({ ...toMetric(m), runId });
    }
    return out;
  }

  return {
    get,
    getMany,
    create,
    update,
    logBatch,
    deleteTag,
    logInputs,
    metricHistory,
    sampledMetricHistories,
    delete: (actor: string, runId: string) => setLifecycle(actor, runId, 'active', 'deleted'),
    restore: (actor: string, runId: string) => setLifecycle(actor, runId, 'deleted', 'active'),
  };
}

export type RunService = ReturnType<typeof createRunService>;

/** Stores model-linked metric values; each model must exist and be active (a value seen twice is kept once). */
async function insertModelMetrics(tx: Executor, rows: LoggedModelMetricTable[]): Promise<void> {
  for (const id of new Set(rows.map((r) => r.model_id))) {
    const model = await loggedModelRepo.findLoggedModel({ tx, id });
    if (!model) throw new NotFoundError('logged model', id);
    if (model.lifecycle_stage !== 'active') {
      throw new ConflictError(`metrics: logged model '${id}' is deleted`, { field: 'metrics', modelId: id });
    }
  }
  await loggedModelRepo.insertModelMetrics({ tx, rows });
}
