import { AppError, IntegrityError, NotFoundError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import type { MetricInput } from '../tracking/tracking.schema.js';
import { type EvaluationSummary, summarize } from './evaluation-report.js';
import { featureWarnings } from './feature-warnings.js';
import type { MlApi } from './ml-port.js';
import {
  type CheckedSpec,
  checkTrainSpec,
  type FitResult,
  fitOnDataset,
  type TrainSpec,
} from './model-fit.js';
import { columnValues, type LoadedDataset, loadDataset, rowRecords, targetValues } from './table-rows.js';
import { checkOnnx, type IterationInfo } from './trainers/index.js';

/*
 * `sextant train` as a service: fetch the dataset version through the API, fit, and record a tracked
 * run (params, metrics, tags, ONNX model + signature + evaluation report as artifacts, the dataset
 * version as run input). Everything the user can get wrong is checked before the run is created, so
 * a refused request leaves nothing behind; the run itself is created only once the fit succeeded.
 */

/** The ONNX file must reproduce the in-process predictions to this absolute difference. */
export const ONNX_TOLERANCE = 1e-5;
/** Validation rows scored by onnxruntime for the parity check (all of them up to this many). */
const ONNX_CHECK_ROWS = 5000;

export interface RunOptions {
  /** Experiment id or name (created when the name is new); default the Default experiment. */
  experiment?: string;
  runName?: string;
  tags?: Record<string, string>;
  gitCommit?: string;
  gitDirty?: boolean;
  /** The command line that asked for this training, kept on the run. */
  command?: string;
}

export interface TrainOutcome {
  runId: string;
  runName: string;
  experimentId: string;
  status: 'FINISHED' | 'FAILED';
  task: string;
  /** Validation metrics as logged (val_*), finite values only. */
  metrics: Record<string, number>;
  modelSha256: string;
  onnxMaxAbsDiff: number;
  iterations: number;
  earlyStopped: boolean;
  /** Features that look like identifiers or leak the target (feature-warnings.ts); training went ahead. */
  warnings?: string[];
}

/** An experiment id for a name or id; a new name creates the experiment. */
export async function resolveExperimentId(
  api: Pick<MlApi, 'experiments'>,
  ref: string | undefined,
): Promise<string> {
  if (!ref) return '0';
  if (/^\d+$/.test(ref)) return (await api.experiments.get(ref)).id;
  try {
    return (await api.experiments.getByName(ref)).id;
  } catch (err) {
    if (!(err instanceof NotFoundError) && (err as { code?: string }).code !== 'NOT_FOUND') throw err;
    return (await api.experiments.create({ name: ref })).id;
  }
}

/** Fetches the data, fits and records the run. `dataset` skips the fetch (sweeps load once). */
export async function trainModel(
  api: MlApi,
  spec: TrainSpec,
  opts: RunOptions & {
    dataset?: LoadedDataset;
    workDir?: string;
    /** Stop after this many iterations, as early stopping did to the run being reproduced. */
    stopAfter?: number;
    /** Sees each iteration as it ends (the CLI draws progress from it). */
    onIteration?: (info: IterationInfo) => void;
  } = {},
): Promise<TrainOutcome> {
  const checked = checkTrainSpec(spec);
  const dataset = opts.dataset ?? (await loadDataset(api, checked.datasetRef, { workDir: opts.workDir }));
  const startTime = Date.now();
  let done = 0;
  const stopAfter = opts.stopAfter;
  const fit = fitOnDataset(dataset, checked, (info) => {
    opts.onIteration?.(info);
    return stopAfter !== undefined && ++done >= stopAfter ? false : undefined;
  });
  const outcome = await recordTraining(api, dataset, checked, fit, { ...opts, startTime });
  const warnings = featureWarnings(dataset.table, fit.features, checked.target);
  return warnings.length ? { ...outcome, warnings } : outcome;
}

function historyMetrics(task: string, history: IterationInfo[], now: number): MetricInput[] {
  const metricKey =
    task === 'multiclass'
      ? 'val_iter_accuracy'
      : task === 'classification'
        ? 'val_iter_auc'
        : 'val_iter_rmse';
  return history.flatMap((h) =>
    h.validation
      ? [
          { key: 'val_iter_loss', value: h.validation.loss, step: h.iteration, timestamp: now },
          { key: metricKey, value: h.validation.metric, step: h.iteration, timestamp: now },
        ].filter((m) => Number.isFinite(m.value))
      : [],
  );
}

/**
 * Records one fitted model as a run: checks the ONNX file against the in-process predictions first
 * (a mismatch over ONNX_TOLERANCE fails the run), then logs params, metrics, artifacts and input.
 */
export async function recordTraining(
  api: MlApi,
  dataset: LoadedDataset,
  spec: CheckedSpec,
  fit: FitResult,
  opts: RunOptions & { startTime?: number },
): Promise<TrainOutcome> {
  const experimentId = await resolveExperimentId(api, opts.experiment);
  const modelSha256 = sha256Hex(fit.onnx);
  const targetColumn = columnValues(dataset.table, spec.target, 'target');
  const labels = targetValues(targetColumn.values, fit.task, fit.classes, fit.split.validation);
  const evaluation: EvaluationSummary = summarize(fit.task, labels, fit.predictions, fit.classes);
  // Multiclass predictions are row-major [N, K] probabilities.
  const width = fit.classes && fit.classes.length > 2 ? fit.classes.length : 1;

  const run = await api.runs.create({
    experimentId,
    ...(opts.runName ? { name: opts.runName } : {}),
    ...(opts.startTime ? { startTime: opts.startTime } : {}),
    ...(opts.gitCommit ? { gitCommit: opts.gitCommit, gitDirty: opts.gitDirty ?? false } : {}),
    ...(opts.command ? { command: opts.command } : {}),
    tags: {
      'mlflow.source.type': 'LOCAL',
      'mlflow.source.name': 'sextant train',
      ...(opts.gitCommit ? { 'mlflow.source.git.commit': opts.gitCommit } : {}),
      'sextant.trainer': spec.kind,
      'sextant.task': fit.task,
      'sextant.seed': String(spec.seed),
      'sextant.dataset': dataset.ref,
      'sextant.dataset.digest': dataset.version.digest,
      ...opts.tags,
    },
  });
  try {
    const featureList = fit.features.join(',');
    const params: Record<string, string> = {
      model: spec.kind,
      task: fit.task,
      target: spec.target,
      seed: String(spec.seed),
      split_seed: String(fit.split.seed),
      val_fraction: String(fit.split.valFraction),
      dataset: dataset.ref,
      ...(featureList.length <= 6000 ? { features: featureList } : {}),
    };
    for (const [k, v] of Object.entries(fit.params)) params[k] = String(v);
    await api.runs.logBatch(run.id, {
      params: Object.entries(params).map(([key, value]) => ({ key, value })),
    });
    await api.runs.logInputs(run.id, {
      datasets: [
        {
          name: dataset.version.dataset,
          digest: dataset.version.digest,
          sourceType: 'sextant',
          source: dataset.ref,
          datasetVersionId: dataset.version.id,
          tags: { 'mlflow.data.context': 'training' },
        },
      ],
      direction: 'input',
    });

    const checkRows = fit.split.validation.slice(0, ONNX_CHECK_ROWS);
    const check = await checkOnnx(
      fit.onnx,
      rowRecords(dataset.table, fit.features, checkRows),
      fit.predictions.subarray(0, checkRows.length * width),
    );
    const now = Date.now();
    const scalar = (key: string, value: number): MetricInput => ({ key, value, step: 0, timestamp: now });
    const metrics: MetricInput[] = [
      ...Object.entries(evaluation.flat).map(([k, v]) => scalar(`val_${k}`, v)),
      scalar('onnx_max_abs_diff', check.maxAbsDiff),
      scalar('training_rows', fit.split.train),
      scalar('validation_rows', fit.split.validation.length),
      scalar('iterations', fit.history.length),
      scalar('training_time_s', fit.fitSeconds),
      ...historyMetrics(width > 1 ? 'multiclass' : fit.task, fit.history, now),
    ].filter((m) => Number.isFinite(m.value));
    for (let i = 0; i < metrics.length; i += 1000) {
      await api.runs.logBatch(run.id, { metrics: metrics.slice(i, i + 1000) });
    }

    const report = {
      dataset: { ref: dataset.ref, digest: dataset.version.digest, table: dataset.tablePath },
      target: spec.target,
      task: fit.task,
      trainer: spec.kind,
      params: fit.params,
      features: fit.features,
      classes: fit.classes ?? null,
      split: {
        seed: fit.split.seed,
        valFraction: fit.split.valFraction,
        trainRows: fit.split.train,
        validationRows: fit.split.validation.length,
      },
      iterations: fit.history.length,
      earlyStopped: fit.earlyStopped,
      metrics: evaluation.full,
      onnx: {
        sha256: modelSha256,
        maxAbsDiff: check.maxAbsDiff,
        rowsChecked: checkRows.length,
        tolerance: ONNX_TOLERANCE,
      },
    };
    await api.runs.uploadArtifact(run.id, 'model/model.onnx', fit.onnx);
    await api.runs.uploadArtifact(
      run.id,
      'model/signature.json',
      `${JSON.stringify(fit.signature, null, 2)}\n`,
    );
    await api.runs.uploadArtifact(run.id, 'evaluation/report.json', `${JSON.stringify(report, null, 2)}\n`);

    const passed = check.maxAbsDiff <= ONNX_TOLERANCE;
    await api.runs.logBatch(run.id, {
      tags: [
        { key: 'sextant.model_sha256', value: modelSha256 },
        ...(fit.earlyStopped ? [{ key: 'sextant.early_stopped', value: 'true' }] : []),
        ...(passed
          ? []
          : [{ key: 'sextant.failure', value: `ONNX parity ${check.maxAbsDiff} > ${ONNX_TOLERANCE}` }]),
      ],
    });
    await api.runs.update(run.id, { status: passed ? 'FINISHED' : 'FAILED', endTime: Date.now() });
    if (!passed)
      throw new IntegrityError(
        `run ${run.id} FAILED: the ONNX model differs from the in-process predictions by ${check.maxAbsDiff} (> ${ONNX_TOLERANCE})`,
        { runId: run.id, maxAbsDiff: check.maxAbsDiff },
      );
    return {
      runId: run.id,
      runName: run.name,
      experimentId,
      status: 'FINISHED',
      task: fit.task,
      metrics: Object.fromEntries(
        Object.entries(evaluation.flat)
          .filter(([, v]) => Number.isFinite(v))
          .map(([k, v]) => [`val_${k}`, v]),
      ),
      modelSha256,
      onnxMaxAbsDiff: check.maxAbsDiff,
      iterations: fit.history.length,
      earlyStopped: fit.earlyStopped,
    };
  } catch (err) {
    // A run that was created is never left RUNNING: mark it failed, keep what was logged, rethrow.
    if (!(err instanceof AppError && err.code === 'INTEGRITY_ERROR')) {
      await api.runs
        .logBatch(run.id, {
          tags: [{ key: 'sextant.failure', value: String((err as Error).message).slice(0, 8000) }],
        })
        .catch(() => undefined);
      await api.runs.update(run.id, { status: 'FAILED', endTime: Date.now() }).catch(() => undefined);
    }
    throw err;
  }
}
