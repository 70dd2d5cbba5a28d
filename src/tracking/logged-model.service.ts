import { toIso } from '../core/clock.js';
import type { DomainDeps } from '../core/domain-deps.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { newLoggedModelId } from '../core/ids.js';
import { parseOrThrow } from '../core/validate.js';
import { type Executor, inTransaction, type LoggedModelTable } from '../store/index.js';
import { findExperiment } from './experiment.repo.js';
import * as repo from './logged-model.repo.js';
import {
  type CreateLoggedModelInput,
  createLoggedModelSchema,
  type LoggedModel,
  type LoggedModelStatus,
  loggedModelArtifactPath,
  loggedModelKeyValueSchema,
  type RunModelLink,
} from './logged-model.schema.js';
import { findRun } from './run.repo.js';
import { metricValueOut } from './run-view.js';

/** At most this many logged models are scanned per search (MLflow pages them 50 at a time). */
const SEARCH_SCAN_LIMIT = 10_000;

/**
 * Logged models (MLflow 3). A model logged by a run keeps its files in that run's artifacts, under
 * `models/<model id>`: the run's lineage (params, datasets, code) is the model's, and registering it
 * is registering a run's model folder, under the registry's usual rules. A model logged outside a run
 * keeps its files under itself (logged-model-artifact.service.ts). Metric values linked to a model are
 * written by the run that measured them (run.service.ts logBatch) and read here.
 */
export function createLoggedModelService({ db, audit, clock }: DomainDeps) {
  async function toModels(tx: Executor, rows: LoggedModelTable[]): Promise<LoggedModel[]> {
    const ids = rows.map((r) => r.id);
    const [params, tags, metrics] = await Promise.all([
      repo.listKeyValues({ tx, table: 'logged_model_params', ids }),
      repo.listKeyValues({ tx, table: 'logged_model_tags', ids }),
      repo.listModelMetrics({ tx, ids }),
    ]);
    const runIds = [...new Set(rows.map((r) => r.source_run_id).filter((id): id is string => !!id))];
    const runs = new Map<string, string>();
    for (const id of runIds) {
      const run = await findRun({ tx, id });
      if (run) runs.set(id, run.artifact_uri);
    }
    const locations = new Map<string, string>();
    for (const id of new Set(rows.filter((r) => !r.source_run_id).map((r) => r.experiment_id))) {
      const experiment = await findExperiment({ tx, id: Number(id) });
      locations.set(id, experiment?.artifact_location ?? `mlflow-artifacts:/${id}`);
    }
    const pick = (list: { model_id: string; key: string; value: string }[], id: string) =>
      Object.fromEntries(list.filter((p) => p.model_id === id).map((p) => [p.key, p.value]));
    return rows.map((r) => {
      const runUri = r.source_run_id ? runs.get(r.source_run_id) : undefined;
      return {
        id: r.id,
        experimentId: r.experiment_id,
        name: r.name,
        modelType: r.model_type,
        sourceRunId: r.source_run_id,
        status: r.status as LoggedModelStatus,
        statusMessage: r.status_message,
        createdBy: r.created_by,
        createdAt: toIso(r.created_at),
        updatedAt: toIso(r.updated_at),
        lifecycleStage: r.lifecycle_stage as LoggedModel['lifecycleStage'],
        params: pick(params, r.id),
        tags: pick(tags, r.id),
        metrics: metrics
          .filter((m) => m.model_id === r.id)
          .map((m) => ({
            key: m.key,
            value: metricValueOut(m.value, m.is_nan),
            timestamp: Number(m.timestamp),
            step: Number(m.step),
            runId: m.run_id,
            datasetName: m.dataset_name || null,
            datasetDigest: m.dataset_digest || null,
          })),
        artifactUri: runUri
          ? `${runUri}/${loggedModelArtifactPath(r.id)}`
          : `${locations.get(r.experiment_id)}/models/${r.id}/artifacts`,
        artifactPath: r.source_run_id ? loggedModelArtifactPath(r.id) : '',
      };
    });
  }

  async function getRow(tx: Executor, id: string, { active }: { active: boolean }) {
    const row = await repo.findLoggedModel({ tx, id });
    if (!row) throw new NotFoundError('logged model', id);
    if (active && row.lifecycle_stage !== 'active') {
      throw new ConflictError(`logged model '${id}' is deleted`, { field: 'model_id' });
    }
    return row;
  }

  /** Params are immutable, as a run's are: the same value again is fine, a different one is refused. */
  async function writeParams(tx: Executor, modelId: string, params: { key: string; value: string }[]) {
    const existing = await repo.listKeyValues({ tx, table: 'logged_model_params', ids: [modelId] });
    for (const p of params) {
      const old = existing.find((e) => e.key === p.key);
      if (old && old.value !== p.value) {
        throw new ConflictError(
          `params: param '${p.key}' of logged model '${modelId}' is '${old.value}'; a param, once logged, cannot change`,
          { field: 'params' },
        );
      }
    }
    await repo.upsertKeyValues({ tx, table: 'logged_model_params', modelId, pairs: params });
  }

  /** Creates a PENDING logged model in an active experiment, optionally produced by one of its runs. */
  async function create(input: CreateLoggedModelInput & { actor: string }): Promise<LoggedModel> {
    const { actor, ...rest } = input;
    const b = parseOrThrow(createLoggedModelSchema, rest);
    const now = clock.now();
    const id = newLoggedModelId(now);
    const row = await inTransaction(db, async (tx) => {
      const experiment = await findExperiment({ tx, id: Number(b.experimentId) });
      if (!experiment) throw new NotFoundError('experiment', b.experimentId);
      if (experiment.lifecycle_stage !== 'active') {
        throw new ConflictError(`experiment '${b.experimentId}' is deleted`, { field: 'experiment_id' });
      }
      if (b.sourceRunId) {
        const run = await findRun({ tx, id: b.sourceRunId });
        if (!run) throw new NotFoundError('run', b.sourceRunId);
        if (String(run.experiment_id) !== b.experimentId) {
          throw new ValidationError(
            `source_run_id: run '${b.sourceRunId}' belongs to experiment '${run.experiment_id}', not '${b.experimentId}'`,
            { field: 'source_run_id' },
          );
        }
        if (run.lifecycle_stage !== 'active') {
          throw new ConflictError(`source_run_id: run '${b.sourceRunId}' is deleted`, {
            field: 'source_run_id',
          });
        }
      }
      const values: LoggedModelTable = {
        id,
        experiment_id: b.experimentId,
        name: b.name ?? `model-${id.slice(-6)}`,
        model_type: b.modelType ?? null,
        source_run_id: b.sourceRunId ?? null,
        status: 'PENDING',
        status_message: null,
        created_by: actor,
        created_at: now,
        updated_at: now,
        lifecycle_stage: 'active',
      };
      await repo.insertLoggedModel({ tx, row: values });
      await writeParams(tx, id, b.params);
      await repo.upsertKeyValues({ tx, table: 'logged_model_tags', modelId: id, pairs: b.tags });
      if (b.sourceRunId) {
        await repo.insertRunModelLinks({
          tx,
          rows: [{ run_id: b.sourceRunId, model_id: id, direction: 'output', step: 0, created_at: now }],
        });
      }
      await audit.append(tx, {
        actor,
        action: 'logged_model.create',
        entityType: 'logged_model',
        entityId: id,
        after: { experimentId: b.experimentId, name: values.name, sourceRunId: values.source_run_id },
      });
      return values;
    });
    const [m] = await toModels(db, [row]);
    return m!;
  }

  /** A logged model by id (deleted ones too); NotFoundError otherwise. */
  async function get(id: string): Promise<LoggedModel> {
    const [m] = await toModels(db, [await getRow(db, id, { active: false })]);
    return m!;
  }

  /** Active logged models of the experiments, newest first. */
  async function list(experimentIds: string[]): Promise<LoggedModel[]> {
    const rows = await repo.listLoggedModels({ tx: db, experimentIds, limit: SEARCH_SCAN_LIMIT });
    return toModels(db, rows);
  }

  /** Marks the upload done (READY) or failed (FAILED); a finalized model cannot go back to PENDING. */
  async function finalize(input: {
    actor: string;
    id: string;
    status: Exclude<LoggedModelStatus, 'PENDING'>;
    statusMessage?: string | undefined;
  }): Promise<LoggedModel> {
    await inTransaction(db, async (tx) => {
      const row = await getRow(tx, input.id, { active: true });
      await repo.updateLoggedModel({
        tx,
        id: input.id,
        set: { status: input.status, status_message: input.statusMessage ?? null, updated_at: clock.now() },
      });
      await audit.append(tx, {
        actor: input.actor,
        action: 'logged_model.finalize',
        entityType: 'logged_model',
        entityId: input.id,
        before: { status: row.status },
        after: { status: input.status },
      });
    });
    return get(input.id);
  }

  async function setTags(input: { actor: string; id: string; tags: { key: string; value: string }[] }) {
    const tags = input.tags.map((t, i) => parseOrThrow(loggedModelKeyValueSchema, t, `tags.${i}`));
    await inTransaction(db, async (tx) => {
      await getRow(tx, input.id, { active: true });
      await repo.upsertKeyValues({ tx, table: 'logged_model_tags', modelId: input.id, pairs: tags });
      await repo.updateLoggedModel({ tx, id: input.id, set: { updated_at: clock.now() } });
      await audit.append(tx, {
        actor: input.actor,
        action: 'logged_model.set_tags',
        entityType: 'logged_model',
        entityId: input.id,
        after: Object.fromEntries(tags.map((t) => [t.key, t.value])),
      });
    });
    return get(input.id);
  }

  async function deleteTag(input: { actor: string; id: string; key: string }): Promise<void> {
    await inTransaction(db, async (tx) => {
      await getRow(tx, input.id, { active: true });
      const removed = await repo.deleteKeyValue({
        tx,
        table: 'logged_model_tags',
        modelId: input.id,
        key: input.key,
      });
      if (!removed) throw new NotFoundError('logged model tag', `${input.id}/${input.key}`);
      await audit.append(tx, {
        actor: input.actor,
        action: 'logged_model.delete_tag',
        entityType: 'logged_model',
        entityId: input.id,
        details: { key: input.key },
      });
    });
  }

  async function logParams(input: { actor: string; id: string; params: { key: string; value: string }[] }) {
    const params = input.params.map((p, i) => parseOrThrow(loggedModelKeyValueSchema, p, `params.${i}`));
    await inTransaction(db, async (tx) => {
      await getRow(tx, input.id, { active: true });
      await writeParams(tx, input.id, params);
      await audit.append(tx, {
        actor: input.actor,
        action: 'logged_model.log_params',
        entityType: 'logged_model',
        entityId: input.id,
        after: Object.fromEntries(params.map((p) => [p.key, p.value])),
      });
    });
  }

  /** Soft delete: the row and its files stay (a registered version may name them). */
  async function remove(input: { actor: string; id: string }): Promise<void> {
    await inTransaction(db, async (tx) => {
      await getRow(tx, input.id, { active: true });
      await repo.updateLoggedModel({
        tx,
        id: input.id,
        set: { lifecycle_stage: 'deleted', updated_at: clock.now() },
      });
      await audit.append(tx, {
        actor: input.actor,
        action: 'logged_model.delete',
        entityType: 'logged_model',
        entityId: input.id,
      });
    });
  }

  /** Links a run to logged models it produced (outputs) or read (inputs); each model must exist. */
  async function linkRun(input: {
    actor: string;
    runId: string;
    direction: RunModelLink['direction'];
    models: { modelId: string; step: number }[];
  }): Promise<void> {
    const now = clock.now();
    await inTransaction(db, async (tx) => {
      const run = await findRun({ tx, id: input.runId });
      if (!run) throw new NotFoundError('run', input.runId);
      if (run.lifecycle_stage !== 'active') {
        throw new ConflictError(`run '${input.runId}' must be active to change it`, { field: 'run_id' });
      }
      for (const m of input.models) await getRow(tx, m.modelId, { active: false });
      await repo.insertRunModelLinks({
        tx,
        rows: input.models.map((m) => ({
          run_id: input.runId,
          model_id: m.modelId,
          direction: input.direction,
          step: m.step,
          created_at: now,
        })),
      });
      await audit.append(tx, {
        actor: input.actor,
        action: `run.log_model_${input.direction}s`,
        entityType: 'run',
        entityId: input.runId,
        after: { models: input.models },
      });
    });
  }

  /** The runs linked to a model, or the models linked to a run. */
  async function links(by: { runId?: string; modelId?: string }): Promise<RunModelLink[]> {
    const rows = await repo.listRunModelLinks({ tx: db, runId: by.runId, modelId: by.modelId });
    return rows.map((r) => ({
      runId: r.run_id,
      modelId: r.model_id,
      direction: r.direction as RunModelLink['direction'],
      step: r.step,
    }));
  }

  return { create, get, list, finalize, setTags, deleteTag, logParams, remove, linkRun, links };
}

export type LoggedModelService = ReturnType<typeof createLoggedModelService>;
