import { AppError, ValidationError } from '../core/errors.js';
import { memoryStoppingBoard } from './median-stopping.js';
import type { MlApi } from './ml-port.js';
import { type CheckedSpec, checkTrainSpec, type TrainSpec } from './model-fit.js';
import type { SweepTrialPayload } from './sweep.schema.js';
import { runTrial, type TrialOutcome } from './sweep-trial.js';
import { gridTrials, type ParamRange, randomTrials } from './sweep-trials.js';
import { binaryClasses, columnValues, inferTask, type LoadedDataset, loadDataset } from './table-rows.js';
import { trainerParams } from './trainers/index.js';
import { type RunOptions, resolveExperimentId } from './training.service.js';
import { createTrialThreads } from './trial-threads.js';

/*
 * `sextant sweep`: many trainings of one dataset under a parent run. Every trial uses the same seed,
 * hence the same validation split, so their scores compare. Trials are child runs (tags
 * mlflow.parentRunId and sextant.sweep = the parent's id); trials stopped by the median rule finish
 * with the iterations done so far and carry sextant.early_stopped = true. The best trial by the
 * validation objective (ROC AUC for classification, RMSE for regression) is tagged on the parent.
 * Where the trials run is the TrialRunner's business: as `sweep.trial` jobs on a workspace (app/), or
 * in this process's threads (a sweep against a server).
 */

export type { TrialOutcome } from './sweep-trial.js';

export interface SweepSpec {
  /** Dataset, target, trainer, seed...; `params` are fixed for every trial. */
  base: TrainSpec;
  grid?: Record<string, string[]>;
  random?: { trials: number; ranges: Record<string, ParamRange> };
  /** Trials running at once in this process (default 1). */
  parallel?: number;
  earlyStop?: 'median' | 'none';
  /** Iterations before the median rule may stop a trial (default 10). */
  warmup?: number;
  /** Other trials needed before the median rule judges (default 2). */
  minTrials?: number;
}

export interface SweepOutcome {
  parentRunId: string;
  experimentId: string;
  objective: { metric: string; higherIsBetter: boolean };
  trials: TrialOutcome[];
  best?: TrialOutcome;
}

/** Runs a sweep's trials, each exactly once, and says how each ended. */
export interface TrialRunner {
  /**
   * Outcomes in trial order. `parallel` bounds the trials this process runs at once; `dataset` is the
   * table the sweep already loaded. An aborted `signal` cancels the trials not yet ended.
   */
  run(
    trials: SweepTrialPayload[],
    options: {
      parallel: number;
      dataset: LoadedDataset;
      onTrial?: (t: TrialOutcome) => void;
      signal?: AbortSignal;
    },
  ): Promise<TrialOutcome[]>;
}

/**
 * Runs the trials in this process: up to `parallel` at once in trial threads, pruning against a board
 * in memory. For a sweep against a server, where this process has no database of its own.
 */
export function inProcessTrialRunner(api: MlApi): TrialRunner {
  return {
    async run(trials, { parallel, dataset, onTrial, signal }) {
      const threads = createTrialThreads();
      const first = trials[0];
      const board = first?.rule
        ? memoryStoppingBoard({
            ...first.rule,
            trials: trials.length,
            maxIterations: Math.max(...trials.map(iterationsOf)),
          })
        : null;
      const outcomes: TrialOutcome[] = new Array(trials.length);
      let next = 0;
      try {
        await Promise.all(
          Array.from({ length: Math.min(parallel, trials.length) }, async () => {
            while (next < trials.length) {
              const t = trials[next++]!;
              const shown = { trial: t.trial + 1, params: t.params };
              outcomes[t.trial] = signal?.aborted
                ? { ...shown, status: 'CANCELLED' }
                : await runTrial(api, dataset, t, { threads, board, ...(signal ? { signal } : {}) }).catch(
                    (err): TrialOutcome =>
                      signal?.aborted
                        ? { ...shown, status: 'CANCELLED' }
                        : { ...shown, status: 'FAILED', error: (err as Error).message },
                  );
              onTrial?.(outcomes[t.trial]!);
            }
          }),
        );
      } finally {
        await threads.close();
      }
      return outcomes;
    },
  };
}

const ITERATION_PARAM = { gbdt: 'n_estimators', linear: 'max_iter' } as const;

/** The longest curve a trial may have: its iteration param, or the trainer's default. */
function iterationsOf(t: Pick<SweepTrialPayload, 'spec'>): number {
  const key = ITERATION_PARAM[t.spec.kind];
  const n = Number(t.spec.params[key] ?? trainerParams(t.spec.kind)[key]?.default ?? 100);
  return Number.isFinite(n) && n > 0 ? n : 100;
}

/** Runs a sweep and records it; bad specs are refused before any run is created. */
export async function runSweep(
  api: MlApi,
  spec: SweepSpec,
  opts: RunOptions & {
    /** Where the trials run (required: a workspace's jobs, or this process). */
    trials: TrialRunner;
    workDir?: string;
    onTrial?(t: TrialOutcome): void;
    /** Aborting cancels the trials not yet ended; the parent run ends KILLED. */
    signal?: AbortSignal;
  },
): Promise<SweepOutcome> {
  const base = checkTrainSpec(spec.base);
  const parallel = spec.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64)
    throw new ValidationError(`--parallel: must be an integer from 1 to 64, got '${spec.parallel}'`, {
      field: 'parallel',
    });
  if (!spec.grid === !spec.random)
    throw new ValidationError('give either --grid or --random with --param-range', { field: 'grid' });
  const trialParams = spec.grid
    ? gridTrials(spec.grid)
    : randomTrials(spec.random!.ranges, spec.random!.trials, base.seed);
  if (trialParams.length > 10_000)
    throw new ValidationError(`--grid: ${trialParams.length} trials is too many (at most 10000)`, {
      field: 'grid',
    });
  const trials: CheckedSpec[] = trialParams.map((p) =>
    checkTrainSpec({ ...base, params: { ...base.params, ...p } }),
  );

  const dataset = await loadDataset(api, base.datasetRef, { workDir: opts.workDir });
  const targetColumn = columnValues(dataset.table, base.target, 'target');
  const task = base.task ?? inferTask(targetColumn);
  const higherIsBetter = task === 'classification';
  // Multiclass models have no ROC AUC; they are ranked by accuracy (also their per-iteration metric).
  const multiclass = higherIsBetter && binaryClasses(targetColumn.values).length > 2;
  const objective = {
    metric: multiclass ? 'val_accuracy' : higherIsBetter ? 'val_roc_auc' : 'val_rmse',
    higherIsBetter,
  };
  const rule =
    spec.earlyStop === 'median'
      ? { warmup: spec.warmup ?? 10, minTrials: spec.minTrials ?? 2, higherIsBetter }
      : null;

  const experimentId = await resolveExperimentId(api, opts.experiment);
  const parent = await api.runs.create({
    experimentId,
    ...(opts.runName ? { name: opts.runName } : {}),
    ...(opts.gitCommit ? { gitCommit: opts.gitCommit, gitDirty: opts.gitDirty ?? false } : {}),
    ...(opts.command ? { command: opts.command } : {}),
    tags: {
      'mlflow.source.type': 'LOCAL',
      'mlflow.source.name': 'sextant sweep',
      'sextant.sweep.role': 'parent',
      'sextant.trainer': base.kind,
      'sextant.dataset': dataset.ref,
      ...opts.tags,
    },
  });
  await api.runs.logBatch(parent.id, {
    tags: [{ key: 'sextant.sweep', value: parent.id }],
    params: [
      { key: 'model', value: base.kind },
      { key: 'target', value: base.target },
      { key: 'dataset', value: dataset.ref },
      { key: 'seed', value: String(base.seed) },
      { key: 'trials', value: String(trials.length) },
      { key: 'parallel', value: String(parallel) },
      {
        key: 'early_stop',
        value: rule ? `median(warmup=${rule.warmup},min_trials=${rule.minTrials})` : 'none',
      },
      { key: 'objective', value: objective.metric },
      { key: 'space', value: JSON.stringify(spec.grid ?? spec.random).slice(0, 6000) },
    ],
  });

  const payloads: SweepTrialPayload[] = trials.map((t, i) => ({
    sweepId: parent.id,
    experimentId,
    trial: i,
    params: trialParams[i]!,
    // The resolved version: every trial, on any worker, trains on the same rows.
    spec: {
      datasetRef: dataset.ref,
      target: t.target,
      kind: t.kind,
      ...(t.task ? { task: t.task } : {}),
      params: t.params ?? {},
      seed: t.seed,
      valFraction: t.valFraction,
      ...(t.features ? { features: t.features } : {}),
    },
    rule,
    objective: objective.metric,
    runName: `${parent.name}-trial-${i + 1}`,
    tags: {
      'mlflow.parentRunId': parent.id,
      'sextant.sweep': parent.id,
      'sextant.trial': String(i + 1),
      ...opts.tags,
    },
    ...(opts.gitCommit ? { gitCommit: opts.gitCommit, gitDirty: opts.gitDirty ?? false } : {}),
  }));
  let outcomes: TrialOutcome[];
  try {
    outcomes = await opts.trials.run(payloads, {
      parallel,
      dataset,
      ...(opts.onTrial ? { onTrial: opts.onTrial } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    await api.runs.update(parent.id, { status: 'FAILED', endTime: Date.now() });
    throw err;
  }

  const finished = outcomes.filter((o) => o.status === 'FINISHED' && Number.isFinite(o.objective));
  const best = finished.reduce<TrialOutcome | undefined>(
    (b, o) => (!b || (higherIsBetter ? o.objective! > b.objective! : o.objective! < b.objective!) ? o : b),
    undefined,
  );
  const failed = outcomes.filter((o) => o.status === 'FAILED');
  const cancelled = outcomes.filter((o) => o.status === 'CANCELLED');
  const now = Date.now();
  await api.runs.logBatch(parent.id, {
    metrics: [
      ...(best ? [{ key: `best_${objective.metric}`, value: best.objective!, step: 0, timestamp: now }] : []),
      { key: 'trials_finished', value: finished.length, step: 0, timestamp: now },
      { key: 'trials_failed', value: failed.length, step: 0, timestamp: now },
      { key: 'trials_cancelled', value: cancelled.length, step: 0, timestamp: now },
      {
        key: 'trials_early_stopped',
        value: outcomes.filter((o) => o.earlyStopped).length,
        step: 0,
        timestamp: now,
      },
    ],
    tags: [
      ...(best ? [{ key: 'sextant.best_run_id', value: best.runId! }] : []),
      ...(failed.length
        ? [
            {
              key: 'sextant.failure',
              value: `${failed.length} trial(s) failed: ${failed[0]!.error}`.slice(0, 8000),
            },
          ]
        : []),
    ],
  });
  if (cancelled.length) {
    await api.runs.update(parent.id, { status: 'KILLED', endTime: Date.now() });
    throw new AppError(
      'CONFLICT',
      `sweep ${parent.id} was cancelled (${cancelled.length} of ${outcomes.length} trials cancelled)`,
      {
        parentRunId: parent.id,
      },
    );
  }
  await api.runs.update(parent.id, { status: best ? 'FINISHED' : 'FAILED', endTime: Date.now() });
  if (!best) {
    throw new ValidationError(`sweep ${parent.id}: no trial finished (${failed[0]?.error ?? 'no score'})`, {
      field: 'grid',
      parentRunId: parent.id,
    });
  }
  return { parentRunId: parent.id, experimentId, objective, trials: outcomes, ...(best ? { best } : {}) };
}
