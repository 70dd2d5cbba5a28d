import { IntegrityError, ValidationError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import type { Run } from '../tracking/tracking.schema.js';
import type { MlApi } from './ml-port.js';
import { RESERVED_PARAMS, TRAINER_KINDS } from './model-fit.js';
import { loadDataset, readAll } from './table-rows.js';
import type { ModelSignature, Task, TrainerKind } from './trainers/index.js';
import { trainModel } from './training.service.js';

/*
 * Reproduction: re-run what made a model from what was recorded, and say whether it came out the same.
 * A run of the built-in trainer (tag sextant.trainer) is retrained from its params, seed and the dataset
 * version pinned by digest; the proof is a byte-identical ONNX file (equal sha256), else the metric
 * deltas. A run of a user's own command (`sextant run -- cmd`) is re-run through the callback the CLI
 * gives, and its metrics are compared within a tolerance.
 */

export interface ReproduceRequest {
  runId: string;
  /** The sha256 the registry recorded for the model; default the run's own model. */
  expectedSha256?: string;
  /** Absolute tolerance for metric comparison (default 1e-9 for the trainer, 1e-3 for commands). */
  tolerance?: number;
  /** The code version checked out now, to report whether it matches the run's. */
  gitCommit?: string;
  gitDirty?: boolean;
  workDir?: string;
  /** Re-runs a user's command as a new tracked run; returns its id. */
  rerunCommand?(run: Run): Promise<string>;
}

export interface MetricDelta {
  key: string;
  original: number;
  reproduced: number | null;
  delta: number | null;
  withinTolerance: boolean;
}

export interface ReproduceOutcome {
  kind: 'trainer' | 'command';
  originalRunId: string;
  newRunId: string;
  /** Trainer runs: sha256 of the recorded and of the new model. */
  originalSha256?: string;
  newSha256?: string;
  byteIdentical?: boolean;
  tolerance: number;
  metrics: MetricDelta[];
  /** Byte-identical (trainer) or every metric within tolerance (command). */
  reproduced: boolean;
  code: { original: string | null; current: string | null; matches: boolean | null };
  dataset?: { ref: string; digest: string };
}

function latestMetrics(run: Run): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of run.metrics) out.set(m.key, typeof m.value === 'number' ? m.value : Number(m.value));
  return out;
}

function compare(
  original: Map<string, number>,
  now: Map<string, number>,
  keys: string[],
  tol: number,
): MetricDelta[] {
  return keys.map((key) => {
    const a = original.get(key)!;
    const b = now.get(key);
    const delta = b === undefined ? null : b - a;
    const same =
      b !== undefined && (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(b - a) <= tol);
    return { key, original: a, reproduced: b ?? null, delta, withinTolerance: same };
  });
}

async function recordedSha(api: MlApi, run: Run): Promise<string> {
  const tagged = run.tags['sextant.model_sha256'];
  if (tagged) return tagged;
  return sha256Hex(await readAll(await api.runs.downloadArtifact(run.id, 'model/model.onnx')));
}

async function recordedFeatures(api: MlApi, run: Run): Promise<string[] | undefined> {
  try {
    const sig = JSON.parse(
      (await readAll(await api.runs.downloadArtifact(run.id, 'model/signature.json'))).toString('utf8'),
    ) as ModelSignature;
    return sig.inputs.map((i) => i.name);
  } catch {
    return run.params.features ? run.params.features.split(',') : undefined;
  }
}

/** Reproduces a run (see the file comment); nothing is compared until the new run has finished. */
export async function reproduceRun(api: MlApi, req: ReproduceRequest): Promise<ReproduceOutcome> {
  const run = await api.runs.get(req.runId);
  const code = {
    original: run.gitCommit,
    current: req.gitCommit ?? null,
    matches: run.gitCommit && req.gitCommit ? run.gitCommit === req.gitCommit : null,
  };
  const kind = run.tags['sextant.trainer'];
  if (kind) return reproduceTraining(api, run, kind, req, code);
  if (!run.command)
    throw new ValidationError(
      `run ${run.id} was made neither by 'sextant train' nor by 'sextant run -- <command>'; there is nothing to re-run`,
      { field: 'run' },
    );
  if (!req.rerunCommand)
    throw new ValidationError(`run ${run.id} was made by a command; re-running it needs the CLI`, {
      field: 'run',
    });
  const tolerance = req.tolerance ?? 1e-3;
  const newRunId = await req.rerunCommand(run);
  const again = await api.runs.get(newRunId);
  const original = latestMetrics(run);
  // Sextant's own resource metrics (wall time, memory) differ on every run; the exit code must not.
  const keys = [...original.keys()]
    .filter((k) => !k.startsWith('sextant.') || k === 'sextant.exit_code')
    .sort();
  const metrics = compare(original, latestMetrics(again), keys, tolerance);
  return {
    kind: 'command',
    originalRunId: run.id,
    newRunId,
    tolerance,
    metrics,
    reproduced: again.status === 'FINISHED' && metrics.every((m) => m.withinTolerance),
    code,
  };
}

async function reproduceTraining(
  api: MlApi,
  run: Run,
  kind: string,
  req: ReproduceRequest,
  code: ReproduceOutcome['code'],
): Promise<ReproduceOutcome> {
  if (!TRAINER_KINDS.includes(kind as TrainerKind))
    throw new ValidationError(`run ${run.id}: unknown trainer '${kind}'`, { field: 'run' });
  const input = run.inputs.find((i) => i.direction === 'input' && i.kind !== 'model');
  const p = run.params;
  if (!input || !p.target || p.seed === undefined)
    throw new ValidationError(
      `run ${run.id} lacks its dataset input, target or seed; it cannot be retrained`,
      {
        field: 'run',
      },
    );
  const originalSha = req.expectedSha256 ?? (await recordedSha(api, run));
  // The digest pins the exact version, whatever its number or tags say now.
  const datasetRef = `${input.name}@${input.digest}`;
  const dataset = await loadDataset(api, datasetRef, { workDir: req.workDir });
  if (dataset.version.digest !== input.digest)
    throw new IntegrityError(`dataset ${datasetRef} resolved to digest ${dataset.version.digest}`, {
      field: 'dataset',
    });
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(p)) if (!RESERVED_PARAMS.includes(k)) params[k] = v;
  // A trial stopped early by its sweep trained fewer iterations than its params asked for: stop there too.
  const trained = latestMetrics(run).get('iterations');
  const stopAfter = run.tags['sextant.early_stopped'] === 'true' ? trained : undefined;
  const features = await recordedFeatures(api, run);
  const tolerance = req.tolerance ?? 1e-9;
  const outcome = await trainModel(
    api,
    {
      datasetRef,
      target: p.target,
      kind: kind as TrainerKind,
      ...(p.task ? { task: p.task as Task } : {}),
      params,
      seed: Number(p.seed),
      ...(p.val_fraction ? { valFraction: Number(p.val_fraction) } : {}),
      ...(features ? { features } : {}),
    },
    {
      dataset,
      experiment: run.experimentId,
      runName: `${run.name}-reproduced`,
      tags: { 'sextant.reproduces': run.id },
      ...(stopAfter !== undefined ? { stopAfter } : {}),
      ...(req.gitCommit ? { gitCommit: req.gitCommit, gitDirty: req.gitDirty ?? false } : {}),
    },
  );
  const original = latestMetrics(run);
  const keys = [...original.keys()].filter((k) => k.startsWith('val_') && !k.startsWith('val_iter')).sort();
  const metrics = compare(original, new Map(Object.entries(outcome.metrics)), keys, tolerance);
  const byteIdentical = outcome.modelSha256 === originalSha;
  return {
    kind: 'trainer',
    originalRunId: run.id,
    newRunId: outcome.runId,
    originalSha256: originalSha,
    newSha256: outcome.modelSha256,
    byteIdentical,
    tolerance,
    metrics,
    reproduced: byteIdentical,
    code,
    dataset: { ref: dataset.ref, digest: dataset.version.digest },
  };
}
