import { ValidationError } from '../core/errors.js';
import type { MedianRuleOptions } from './median-stopping.js';
import type { MlApi } from './ml-port.js';
import { type CheckedSpec, checkTrainSpec, type TrainSpec } from './model-fit.js';
import { inThreadExecutor, type TrialExecutor, workerExecutor } from './sweep-executor.js';
import { gridTrials, type ParamRange, randomTrials } from './sweep-trials.js';
import { columnValues, inferTask, loadDataset } from './table-rows.js';
import { trainerParams } from './trainers/index.js';
import {
  type RunOptions,
  recordTraining,
  resolveExperimentId,
  type TrainOutcome,
} from './training.service.js';

/*
 * `sextant sweep`: many trainings of one dataset under a parent run. Every trial uses the same seed,
 * hence the same validation split, so their scores compare. Trials are child runs (tags
 * mlflow.parentRunId and sextant.sweep = the parent's id); trials stopped by the median rule finish
 * with the iterations done so far and carry sextant.early_stopped = true. The best trial by the
 * validation objective (ROC AUC for classification, RMSE for regression) is tagged on the parent.
 */

export interface SweepSpec {
  /** Dataset, target, trainer, seed...; `params` are fixed for every trial. */
  base: TrainSpec;
  grid?: Record<string, string[]>;
  random?: { trials: number; ranges: Record<string, ParamRange> };
  /** Trials running at once (default 1; above 1 they run in worker threads). */
  parallel?: number;
  earlyStop?: 'median' | 'none';
  /** Iterations before the median rule may stop a trial (default 10). */
  warmup?: number;
  /** Other trials needed before the median rule judges (default 2). */
  minTrials?: number;
}

export interface TrialOutcome {
  trial: number;
  params: Record<string, string>;
  runId?: string;
  status: 'FINISHED' | 'FAILED';
  objective?: number;
  iterations?: number;
  earlyStopped?: boolean;
  error?: string;
}

export interface SweepOutcome {
  parentRunId: string;
  experimentId: string;
  objective: { metric: string; higherIsBetter: boolean };
  trials: TrialOutcome[];
  best?: TrialOutcome;
}

const ITERATION_PARAM = { gbdt: 'n_estimators', linear: 'max_iter' } as const;

/** Runs a sweep and records it; bad specs are refused before any run is created. */
export async function runSweep(
  api: MlApi,
  spec: SweepSpec,
  opts: RunOptions & { workDir?: string; onTrial?(t: TrialOutcome): void } = {},
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
  const task = base.task ?? inferTask(columnValues(dataset.table, base.target, 'target'));
  const higherIsBetter = task === 'classification';
  const objective = { metric: higherIsBetter ? 'val_roc_auc' : 'val_rmse', higherIsBetter };
  const iterKey = ITERATION_PARAM[base.kind];
  const maxIterations = Math.max(
    ...trials.map((t) => Number(t.params?.[iterKey] ?? trainerParams(base.kind)[iterKey]?.default ?? 100)),
  );
  const rule: MedianRuleOptions | null =
    spec.earlyStop === 'median'
      ? {
          trials: trials.length,
          maxIterations: Number.isFinite(maxIterations) ? maxIterations : 100,
          warmup: spec.warmup ?? 10,
          minTrials: spec.minTrials ?? 2,
          higherIsBetter,
        }
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

  const executor: TrialExecutor =
    parallel > 1 ? workerExecutor(dataset, rule, parallel) : inThreadExecutor(dataset, rule);
  const outcomes: TrialOutcome[] = new Array(trials.length);
  const runTrial = async (i: number): Promise<void> => {
    const params = trialParams[i]!;
    try {
      const fit = await executor.fit(i, trials[i]!);
      const outcome: TrainOutcome = await recordTraining(api, dataset, trials[i]!, fit, {
        experiment: experimentId,
        runName: `${parent.name}-trial-${i + 1}`,
        tags: {
          'mlflow.parentRunId': parent.id,
          'sextant.sweep': parent.id,
          'sextant.trial': String(i + 1),
          ...opts.tags,
        },
        ...(opts.gitCommit ? { gitCommit: opts.gitCommit, gitDirty: opts.gitDirty ?? false } : {}),
      });
      outcomes[i] = {
        trial: i + 1,
        params,
        runId: outcome.runId,
        status: 'FINISHED',
        objective: outcome.metrics[objective.metric] ?? Number.NaN,
        iterations: outcome.iterations,
        earlyStopped: outcome.earlyStopped,
      };
    } catch (err) {
      outcomes[i] = { trial: i + 1, params, status: 'FAILED', error: (err as Error).message };
    }
    opts.onTrial?.(outcomes[i]!);
  };

  try {
    let next = 0;
    // At most `parallel` trials in flight; the executor bounds the threads the same way.
    await Promise.all(
      Array.from({ length: Math.min(parallel, trials.length) }, async () => {
        while (next < trials.length) await runTrial(next++);
      }),
    );
  } finally {
    await executor.close();
  }

  const finished = outcomes.filter((o) => o.status === 'FINISHED' && Number.isFinite(o.objective));
  const best = finished.reduce<TrialOutcome | undefined>(
    (b, o) => (!b || (higherIsBetter ? o.objective! > b.objective! : o.objective! < b.objective!) ? o : b),
    undefined,
  );
  const failed = outcomes.filter((o) => o.status === 'FAILED');
  const now = Date.now();
  await api.runs.logBatch(parent.id, {
    metrics: [
      ...(best ? [{ key: `best_${objective.metric}`, value: best.objective!, step: 0, timestamp: now }] : []),
      { key: 'trials_finished', value: finished.length, step: 0, timestamp: now },
      { key: 'trials_failed', value: failed.length, step: 0, timestamp: now },
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
  await api.runs.update(parent.id, { status: best ? 'FINISHED' : 'FAILED', endTime: Date.now() });
  if (!best) {
    throw new ValidationError(`sweep ${parent.id}: no trial finished (${failed[0]?.error ?? 'no score'})`, {
      field: 'grid',
      parentRunId: parent.id,
    });
  }
  return { parentRunId: parent.id, experimentId, objective, trials: outcomes, ...(best ? { best } : {}) };
}
