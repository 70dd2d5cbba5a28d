import { isAppError } from '../core/errors.js';
import type { StoppingBoard } from './median-stopping.js';
import type { MlApi } from './ml-port.js';
import { checkTrainSpec } from './model-fit.js';
import type { SweepTrialPayload } from './sweep.schema.js';
import type { LoadedDataset } from './table-rows.js';
import { recordTraining } from './training.service.js';
import type { TrialThreads } from './trial-threads.js';

/*
 * One trial of a sweep, wherever it runs (a `sweep.trial` job on any worker, or the thread pool of a
 * sweep against a server): fit in a trial thread reporting to the stopping board, then record the
 * child run. A trial the data or its params refuse ends FAILED (running it again cannot help); an
 * error of the machinery (a thread that died, the database away) is thrown, so a job is retried.
 */

/** How one trial ended. */
export interface TrialOutcome {
  /** 1-based, as shown. */
  trial: number;
  params: Record<string, string>;
  runId?: string;
  status: 'FINISHED' | 'FAILED' | 'CANCELLED';
  objective?: number;
  iterations?: number;
  earlyStopped?: boolean;
  error?: string;
}

/** Fits and records one trial; see the file header for which failures are outcomes. */
export async function runTrial(
  api: MlApi,
  dataset: LoadedDataset,
  t: SweepTrialPayload,
  deps: { threads: TrialThreads; board: StoppingBoard | null; signal?: AbortSignal },
): Promise<TrialOutcome> {
  const { board, threads, signal } = deps;
  const shown = { trial: t.trial + 1, params: t.params };
  try {
    const spec = checkTrainSpec(t.spec);
    await board?.reset(t.trial);
    let fit: Awaited<ReturnType<TrialThreads['fit']>>;
    try {
      fit = await threads.fit(dataset, spec, {
        ...(board ? { report: (i: number, score: number) => board.report(t.trial, i, score) } : {}),
        ...(signal ? { signal } : {}),
      });
    } finally {
      // Ended either way: its last best stands for the trials still running.
      await board?.finish(t.trial);
    }
    const outcome = await recordTraining(api, dataset, spec, fit, {
      experiment: t.experimentId,
      runName: t.runName,
      tags: t.tags,
      ...(t.gitCommit ? { gitCommit: t.gitCommit, gitDirty: t.gitDirty ?? false } : {}),
    });
    return {
      ...shown,
      runId: outcome.runId,
      status: 'FINISHED',
      objective: outcome.metrics[t.objective] ?? Number.NaN,
      iterations: outcome.iterations,
      earlyStopped: outcome.earlyStopped,
    };
  } catch (err) {
    if (signal?.aborted || !isAppError(err) || err.code === 'UNAVAILABLE' || err.code === 'INTERNAL')
      throw err;
    return { ...shown, status: 'FAILED', error: err.message };
  }
}
