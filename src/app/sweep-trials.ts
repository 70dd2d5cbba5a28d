import { defineJob, isFinished, type Job, type JobQueue } from '../jobs/index.js';
import {
  databaseStoppingBoard,
  type LoadedDataset,
  loadDataset,
  runTrial,
  type SweepTrialPayload,
  sweepTrialPayloadSchema,
  type TrialOutcome,
  type TrialRunner,
  type TrialThreads,
  trialResultSchema,
} from '../ml/index.js';
import type { Db } from '../store/index.js';
import type { RunSearch } from '../tracking/index.js';
import { type MlApiServices, servicesMlApi } from './ml-api.js';

/*
 * Sweep trials as jobs: each trial of a sweep is one `sweep.trial` job, so trials spread over every
 * process working the default queue (`sextant worker`, servers, the CLI that started the sweep), run
 * once each, and are retried, cancelled and listed like any job. Trials on different processes prune
 * against each other through the median-stopping board in the database (sweep_curves).
 */

export const SWEEP_TRIAL_JOB = 'sweep.trial';

/** Datasets a worker keeps loaded between trials (a sweep's trials share one version). */
const DATASETS_KEPT = 2;

/** `sweep.trial`: fits and records one trial as the sweep's owner; its result is the trial's outcome. */
export function sweepTrialJob(deps: {
  services: MlApiServices;
  runSearch: RunSearch;
  db: Db;
  threads: TrialThreads;
  workDir: string;
}) {
  const datasets = new Map<string, Promise<LoadedDataset>>();
  const load = (api: ReturnType<typeof servicesMlApi>, ref: string) => {
    let p = datasets.get(ref);
    if (!p) {
      p = loadDataset(api, ref, { workDir: deps.workDir });
      // A load that failed is not kept: the next trial tries again.
      p.catch(() => datasets.delete(ref));
      datasets.set(ref, p);
      if (datasets.size > DATASETS_KEPT) datasets.delete(datasets.keys().next().value!);
    }
    return p;
  };
  return defineJob({
    name: SWEEP_TRIAL_JOB,
    payload: sweepTrialPayloadSchema,
    // A trial the data refuses ends FAILED as its result; attempts are for workers that died.
    attempts: 2,
    timeoutMs: 6 * 60 * 60 * 1000,
    // A trial's cost falls on its experiment and its sweep (whose tags admission adds): budgets on them hold it.
    scopeOf: (t) => ({ experimentId: t.experimentId, runId: t.sweepId }),
    handler: async (t, ctx): Promise<TrialOutcome> => {
      const parent = await deps.services.runs.get(t.sweepId);
      // A sweep that ended (cancelled, or its orchestrator failed) runs no more trials.
      if (parent.status !== 'RUNNING')
        return {
          trial: t.trial + 1,
          params: t.params,
          status: 'CANCELLED',
          error: `sweep ${t.sweepId} is ${parent.status}`,
        };
      // The trial's run is the sweep owner's, whichever worker records it.
      const api = servicesMlApi(deps.services, parent.userId);
      if (ctx.attempt > 1) {
        const recorded = await settleEarlierAttempts(deps.runSearch, api, t, ctx.jobId);
        if (recorded) return recorded;
      }
      const dataset = await load(api, t.spec.datasetRef);
      const board = t.rule ? databaseStoppingBoard(deps.db, t.sweepId, t.rule) : null;
      return runTrial(api, dataset, t, { threads: deps.threads, board, signal: ctx.signal });
    },
  });
}

/**
 * A retried trial (its worker died) may have left a run: a finished one is the trial's outcome, so the
 * trial is not recorded twice; one cut off mid-record is marked FAILED, and the trial runs again.
 */
async function settleEarlierAttempts(
  runSearch: RunSearch,
  api: ReturnType<typeof servicesMlApi>,
  t: SweepTrialPayload,
  jobId: string,
): Promise<TrialOutcome | undefined> {
  const { runs } = await runSearch.search({
    experimentIds: [t.experimentId],
    filter: `tags.\`sextant.sweep\` = '${t.sweepId}' and tags.\`sextant.trial\` = '${t.trial + 1}'`,
    maxResults: 10,
  });
  const done = runs.find((r) => r.status === 'FINISHED');
  if (done) {
    const metric = (key: string) => {
      const v = done.metrics.find((m) => m.key === key)?.value;
      // The API writes the values JSON lacks as strings ('NaN', 'Infinity').
      return v === undefined ? undefined : Number(v);
    };
    const iterations = metric('iterations');
    return {
      trial: t.trial + 1,
      params: t.params,
      runId: done.id,
      status: 'FINISHED',
      objective: metric(t.objective) ?? Number.NaN,
      ...(iterations !== undefined ? { iterations } : {}),
      earlyStopped: done.tags['sextant.early_stopped'] === 'true',
    };
  }
  for (const r of runs.filter((r) => r.status === 'RUNNING')) {
    await api.runs.logBatch(r.id, {
      tags: [{ key: 'sextant.failure', value: `cut off mid-record; trial retried by job ${jobId}` }],
    });
    await api.runs.update(r.id, { status: 'FAILED', endTime: Date.now() });
  }
  return undefined;
}

/** How often the sweep looks at its trials' jobs, and how many it looks at per look. */
const POLL_MS = 200;
const POLL_BATCH = 64;

/**
 * Runs a sweep's trials as `sweep.trial` jobs and waits for them. `work` (the default) also works the
 * queue in this process with concurrency `parallel`, so a sweep on a laptop with no worker running
 * behaves as before; workers elsewhere take trials too. Aborting the signal cancels the trials' jobs
 * that have not ended.
 */
export function jobTrialRunner(jobs: JobQueue, opts: { actor: string; work?: boolean }): TrialRunner {
  return {
    async run(trials, { parallel, onTrial, signal }) {
      const ids: string[] = [];
      for (const t of trials) ids.push((await jobs.enqueue(SWEEP_TRIAL_JOB, t, { key: trialKey(t) })).id);
      let wake = () => {};
      const worker =
        opts.work === false
          ? null
          : jobs.work({ concurrency: parallel, queues: ['default'], onAttempt: () => wake() });
      const outcomes: TrialOutcome[] = new Array(trials.length);
      const pending = new Map(ids.map((id, i) => [i, id]));
      let cancelled = false;
      const cancelPending = async () => {
        cancelled = true;
        for (const id of pending.values())
          await jobs.cancel({ actor: opts.actor, id }).catch(() => {
            // It ended meanwhile: its outcome stands.
          });
      };
      try {
        while (pending.size) {
          if (signal?.aborted && !cancelled) await cancelPending();
          // Trials are claimed in order, so the oldest pending are the likeliest to have ended.
          let looked = 0;
          for (const [i, id] of pending) {
            if (looked++ >= POLL_BATCH) break;
            const job = await jobs.get(id);
            if (!isFinished(job.status)) continue;
            pending.delete(i);
            outcomes[i] = outcomeOf(job, trials[i]!);
            onTrial?.(outcomes[i]!);
          }
          if (pending.size)
            await new Promise<void>((resolve) => {
              const done = () => {
                clearTimeout(timer);
                signal?.removeEventListener('abort', done);
                resolve();
              };
              const timer = setTimeout(done, POLL_MS);
              signal?.addEventListener('abort', done, { once: true });
              wake = done;
            });
        }
      } finally {
        await worker?.close();
      }
      return outcomes;
    },
  };
}

/** One job per trial: enqueueing a sweep's trial again finds the job already there. */
function trialKey(t: SweepTrialPayload): string {
  return `sweep:${t.sweepId}:trial:${t.trial}`;
}

function outcomeOf(job: Job, t: SweepTrialPayload): TrialOutcome {
  const shown = { trial: t.trial + 1, params: t.params };
  switch (job.status) {
    case 'completed': {
      const r = trialResultSchema.safeParse(job.result);
      if (!r.success) return { ...shown, status: 'FAILED', error: `job ${job.id} left no trial outcome` };
      const { objective, ...rest } = r.data;
      // JSON has no NaN: a score that was not a number comes back null.
      return { ...rest, ...(objective !== undefined ? { objective: objective ?? Number.NaN } : {}) };
    }
    case 'failed':
      return { ...shown, status: 'FAILED', error: job.error ?? `job ${job.id} failed` };
    case 'cancelled':
      return { ...shown, status: 'CANCELLED' };
    default:
      return { ...shown, status: 'FAILED', error: `job ${job.id} is ${job.status}` };
  }
}
