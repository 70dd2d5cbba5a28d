import os from 'node:os';
import path from 'node:path';
import { LocalBlobStore } from '../../src/blobs/index.js';
import { systemClock } from '../../src/core/clock.js';
import { newId, newIds } from '../../src/core/ids.js';
import type { ServedPredictions } from '../../src/cost/index.js';
import { createPredictionStore, createSegmentReader } from '../../src/serving/ledger/index.js';
import type { Db } from '../../src/store/index.js';

/** The counts of the prediction log (the seeds write the `predictions` table; no segment is open). */
export function servedPredictionsOf(db: Db): ServedPredictions {
  const dir = path.join(os.tmpdir(), 'sextant-cost-seed-log');
  const segments = createSegmentReader({
    db,
    blobs: new LocalBlobStore(path.join(dir, 'blobs')),
    cacheDir: dir,
  });
  return createPredictionStore({ db, clock: systemClock, segments });
}

/*
 * Seeds the rows cost attribution reads (experiments, runs, tags, model versions, deployments,
 * predictions, usage) straight into the tables, in batches: the cost tests and bench/cost need
 * thousands of runs, and building each through the tracking service would test tracking, not cost.
 */

const BATCH = 500;

async function insertBatched<T extends keyof import('../../src/store/schema.js').Database>(
  db: Db,
  table: T,
  rows: Record<string, unknown>[],
): Promise<void> {
  // Rows are shaped by the callers below, per table; Kysely cannot check a table chosen at run time.
  type Values = Parameters<ReturnType<typeof db.insertInto<T>>['values']>[0];
  for (let i = 0; i < rows.length; i += BATCH)
    await db
      .insertInto(table)
      .values(rows.slice(i, i + BATCH) as unknown as Values)
      .execute();
}

/** Creates an experiment and returns its id and name. */
export async function seedExperiment(db: Db, name: string, now = Date.UTC(2026, 0, 1)) {
  const row = await db
    .insertInto('experiments')
    .values({
      name,
      artifact_location: `mem://${name}`,
      lifecycle_stage: 'active',
      created_at: now,
      updated_at: now,
      deleted_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: Number(row.id), name };
}

export interface SeedRun {
  id?: string;
  experimentId: number;
  tags?: Record<string, string>;
  parentRunId?: string;
}

/** Inserts runs (and their tags) in batches; returns their ids in order. */
export async function seedRuns(db: Db, runs: SeedRun[], now = Date.UTC(2026, 0, 1)): Promise<string[]> {
  const ids = runs.map((r, i) => r.id ?? newIds('run', 1, now + i)[0]!);
  await insertBatched(
    db,
    'runs',
    runs.map((r, i) => ({
      id: ids[i],
      experiment_id: r.experimentId,
      name: `run-${i}`,
      status: 'FINISHED',
      lifecycle_stage: 'active',
      user_id: 'seed',
      start_time: now,
      end_time: now,
      artifact_uri: `mem://${ids[i]}`,
      git_commit: null,
      git_dirty: null,
      command: null,
      deleted_at: null,
      updated_at: now,
    })),
  );
  const tags = runs.flatMap((r, i) => [
    ...Object.entries(r.tags ?? {}).map(([key, value]) => ({ run_id: ids[i], key, value })),
    ...(r.parentRunId ? [{ run_id: ids[i], key: 'mlflow.parentRunId', value: r.parentRunId }] : []),
  ]);
  await insertBatched(db, 'run_tags', tags);
  return ids;
}

/** A registered model with one version produced by `runId` (or none); returns the version id. */
export async function seedModelVersion(
  db: Db,
  name: string,
  runId: string | null,
  now = Date.UTC(2026, 0, 1),
) {
  const modelId = newId('mdl', now);
  await db
    .insertInto('registered_models')
    .values({
      id: modelId,
      name,
      name_key: name.toLowerCase(),
      description: null,
      tags: '{}',
      last_version: 1,
      created_by: 'seed',
      created_at: now,
      updated_at: now,
      deleted_at: null,
    })
    .execute();
  const id = newId('mv', now);
  await db
    .insertInto('model_versions')
    .values({
      id,
      model_id: modelId,
      version: 1,
      run_id: runId,
      source: 'file:model.onnx',
      format: 'onnx',
      sha256: '0'.repeat(64),
      size: 1,
      files: '[]',
      signature: null,
      dataset_version_ids: '[]',
      code_commit: null,
      command: null,
      params: '{}',
      metrics: '{}',
      environment: '{}',
      run_author: null,
      description: null,
      tags: '{}',
      card: '{}',
      created_by: 'seed',
      created_at: now,
      updated_at: now,
      deleted_at: null,
    })
    .execute();
  return { id, modelId };
}

/** A deployment of a model, and `predictions` logged at `servedAt`. */
export async function seedDeployment(
  db: Db,
  o: {
    name: string;
    modelId: string;
    versionId: string;
    model: string;
    predictions: number;
    servedAt: number;
  },
) {
  const id = newId('dep', o.servedAt);
  await db
    .insertInto('deployments')
    .values({
      id,
      name: o.name,
      model: o.model,
      model_id: o.modelId,
      ref: `${o.model}@1`,
      challenger_ref: null,
      challenger_mode: null,
      canary_percent: null,
      ledger_mode: 'sync',
      created_by: 'seed',
      created_at: o.servedAt,
      updated_at: o.servedAt,
      deleted_at: null,
    })
    .execute();
  await insertBatched(
    db,
    'predictions',
    newIds('pred', o.predictions, o.servedAt).map((pid) => ({
      id: pid,
      deployment_id: id,
      model_version_id: o.versionId,
      model: o.model,
      version: 1,
      alias: null,
      role: 'champion',
      served_at: o.servedAt,
      request_key: null,
      inputs: '{}',
      outputs: '{}',
      latency_us: 1,
      shadow_version_id: null,
      shadow_outputs: null,
      shadow_error: null,
    })),
  );
  return id;
}
