import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createServices,
  jobTrialRunner,
  type Services,
  SWEEP_TRIAL_JOB,
  sweepTrialJob,
} from '../../src/app/index.js';
import { localPrincipal } from '../../src/auth/index.js';
import { createBlobStore } from '../../src/blobs/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { systemClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import type { Job, JobContext, WorkerHandle } from '../../src/jobs/index.js';
import {
  inProcessTrialRunner,
  runSweep,
  type SweepSpec,
  type SweepTrialPayload,
  writeCreditCsv,
} from '../../src/ml/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { describeEachBackend } from '../support/backends.js';
import { redisUrl, serviceAvailable } from '../support/services.js';

/*
 * Sweep trials are `sweep.trial` jobs: two job workers, each on its own connection to one database (as
 * two `sextant worker` processes are), share a sweep's trials, run each once, and prune against each
 * other's curves through the median-stopping board in the database.
 */
const redisUp = await serviceAvailable('redis', redisUrl, 6379);

describeEachBackend('sweep trials as jobs on two workers', (getStore) => sweepSuite(getStore, 'in-process'));
if (redisUp)
  describeEachBackend(
    'sweep trials as BullMQ jobs on two workers',
    (getStore) => sweepSuite(getStore, 'bullmq'),
    ['postgres'],
  );

function sweepSuite(getStore: () => Store, queue: 'in-process' | 'bullmq') {
  let home: string;
  let storeB: Store;
  let a: Services;
  let b: Services;
  const handles: WorkerHandle[] = [];
  const actor = localPrincipal.name;
  const uniq = (p: string) => `${p}-${Math.random().toString(36).slice(2, 8)}`;
  const prefix = uniq('sextant-sweep-test');

  const services = (store: Store) =>
    createServices({
      store,
      blobs: createBlobStore(`file:${path.join(home, 'blobs')}`),
      clock: systemClock,
      config: loadConfig({
        SEXTANT_HOME: home,
        ...(queue === 'bullmq' ? { SEXTANT_REDIS_URL: redisUrl, SEXTANT_REDIS_PREFIX: prefix } : {}),
      }),
      auditKey: 'test-audit-key-0123456789',
    });

  const gbdt = (grid: string[], extra: Partial<SweepSpec> = {}): SweepSpec => ({
    base: {
      datasetRef: 'credit@1',
      target: 'defaulted',
      kind: 'gbdt',
      seed: 3,
      params: { n_estimators: '30', max_depth: '3' },
    },
    grid: { learning_rate: grid },
    ...extra,
  });

  /** The sweep's trial jobs, in trial order. */
  async function trialJobs(s: Services, sweepId: string): Promise<Job[]> {
    const { jobs } = await s.jobs.list({ name: SWEEP_TRIAL_JOB, limit: 1000 });
    return jobs
      .filter((j) => (j.payload as { sweepId: string }).sweepId === sweepId)
      .sort((x, y) => (x.payload as { trial: number }).trial - (y.payload as { trial: number }).trial);
  }

  async function childRuns(s: Services, experimentId: string, sweepId: string) {
    const { runs } = await s.runSearch.search({
      experimentIds: [experimentId],
      filter: `tags.\`mlflow.parentRunId\` = '${sweepId}'`,
      maxResults: 100,
    });
    return runs;
  }

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-sweep-jobs-'));
    storeB = await openStore(getStore().url);
    a = services(getStore());
    b = services(storeB);
    const dir = path.join(home, 'credit');
    fs.mkdirSync(dir);
    writeCreditCsv(path.join(dir, 'credit.csv'), { rows: 800, seed: 1 });
    const size = fs.statSync(path.join(dir, 'credit.csv')).size;
    await createLocalApi(a).data.add({
      dataset: 'credit',
      files: [{ path: 'credit.csv', localPath: path.join(dir, 'credit.csv'), size }],
    });
  }, 60_000);

  afterAll(async () => {
    for (const h of handles) await h.close();
    for (const s of [a, b]) {
      await s?.jobs.close();
      await s?.trialThreads.close();
      await s?.events.close();
      await s?.blobs.close();
    }
    await storeB?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('each trial runs exactly once across two workers, and the best trial is the one threads find', async () => {
    const api = createLocalApi(a);
    const spec = gbdt(['0.3', '0.1', '0.03', '0.00001']);
    const reference = await runSweep(api, spec, {
      experiment: uniq('ref'),
      trials: inProcessTrialRunner(api),
    });
    const onA = a.jobs.work({ concurrency: 1 });
    const onB = b.jobs.work({ concurrency: 1 });
    handles.push(onA, onB);
    const swept = await runSweep(api, spec, {
      experiment: uniq('jobs'),
      trials: jobTrialRunner(a.jobs, { actor, work: false }),
    });
    await onA.close();
    await onB.close();

    expect(swept.trials.map((t) => t.status)).toEqual(['FINISHED', 'FINISHED', 'FINISHED', 'FINISHED']);
    expect(swept.best!.trial).toBe(reference.best!.trial);
    expect(swept.trials.map((t) => t.objective)).toEqual(reference.trials.map((t) => t.objective));
    const jobs = await trialJobs(a, swept.parentRunId);
    expect(jobs.map((j) => [j.status, j.attempts])).toEqual(jobs.map(() => ['completed', 1]));
    const workers = new Set<string>();
    for (const j of jobs) for (const attempt of (await a.jobs.get(j.id)).log) workers.add(attempt.workerId);
    expect([...workers].every((w) => w === onA.workerId || w === onB.workerId)).toBe(true);
    const children = await childRuns(a, swept.experimentId, swept.parentRunId);
    expect(children.map((r) => r.tags['sextant.trial']).sort()).toEqual(['1', '2', '3', '4']);
    expect((await a.runs.get(swept.parentRunId)).tags['sextant.best_run_id']).toBe(swept.best!.runId);
  }, 180_000);

  // The next tests stop a worker between two trials, which the in-process queue does exactly where
  // it is told (BullMQ's workers fetch ahead); the board and the handler are the same on both queues.
  if (queue === 'bullmq') return;

  it('a trial on worker B is stopped by the curves worker A reported', async () => {
    const api = createLocalApi(a);
    let workerB: WorkerHandle | undefined;
    let completedOnA = 0;
    // Worker A runs the two good trials, then stops; worker B takes the rest.
    const onA: WorkerHandle = a.jobs.work({
      concurrency: 1,
      onAttempt: (e) => {
        if (e.status === 'completed' && ++completedOnA === 2)
          void onA.close().then(() => {
            workerB = b.jobs.work({ concurrency: 1 });
            handles.push(workerB);
          });
      },
    });
    handles.push(onA);
    const swept = await runSweep(api, gbdt(['0.3', '0.25', '0.00001'], { earlyStop: 'median', warmup: 5 }), {
      experiment: uniq('prune'),
      trials: jobTrialRunner(a.jobs, { actor, work: false }),
    });
    await workerB?.close();

    const bad = swept.trials[2]!;
    expect(bad.earlyStopped).toBe(true);
    expect(bad.iterations).toBeLessThan(30);
    expect(swept.trials[0]!.iterations).toBe(30);
    const jobs = await trialJobs(a, swept.parentRunId);
    const ranOn = await Promise.all(
      jobs.map(async (j) => (await a.jobs.get(j.id)).log.map((l) => l.workerId)),
    );
    expect(ranOn).toEqual([[onA.workerId], [onA.workerId], [workerB!.workerId]]);
    // B's board held nothing of its own: it judged against the rows A's trials left in the database.
    const badRun = await a.runs.get(bad.runId!);
    expect(badRun.tags['sextant.early_stopped']).toBe('true');
  }, 180_000);

  it('cancelling the sweep cancels its pending trials', async () => {
    const api = createLocalApi(a);
    const interrupt = new AbortController();
    const onA: WorkerHandle = a.jobs.work({
      concurrency: 1,
      // One trial runs; then the worker stops, so the others stay pending until the sweep is cancelled.
      onAttempt: (e) => {
        if (e.status === 'completed') void onA.close();
      },
    });
    handles.push(onA);
    const experiment = uniq('cancel');
    await expect(
      runSweep(api, gbdt(['0.3', '0.2', '0.1', '0.05']), {
        experiment,
        trials: jobTrialRunner(a.jobs, { actor, work: false }),
        signal: interrupt.signal,
        onTrial: () => interrupt.abort(),
      }),
    ).rejects.toThrow(/was cancelled \(3 of 4 trials cancelled\)/);

    const exp = await a.experiments.getByName(experiment);
    const { runs } = await a.runSearch.search({ experimentIds: [exp.id], maxResults: 100 });
    const parent = runs.find((r) => r.tags['sextant.sweep.role'] === 'parent')!;
    expect(parent.status).toBe('KILLED');
    const jobs = await trialJobs(a, parent.id);
    expect(jobs.map((j) => j.status)).toEqual(['completed', 'cancelled', 'cancelled', 'cancelled']);
    expect(jobs.slice(1).every((j) => j.attempts === 0 && j.cancelledBy === actor)).toBe(true);
    expect(await childRuns(a, exp.id, parent.id)).toHaveLength(1);
  }, 180_000);

  it('a retried trial whose first attempt recorded its run answers with that run; an ended sweep runs no trial', async () => {
    const api = createLocalApi(a);
    const job = sweepTrialJob({
      services: a,
      runSearch: a.runSearch,
      db: a.store.db,
      threads: a.trialThreads,
      workDir: home,
    });
    const ctx = (attempt: number): JobContext => ({
      jobId: 'job_test',
      attempt,
      signal: new AbortController().signal,
      progress: async () => {},
      heartbeat: async () => {},
      commit: () => Promise.reject(new Error('a trial commits nothing through the job marker')),
      committed: false,
    });
    const experimentId = (await api.experiments.create({ name: uniq('retry') })).id;
    const parent = await api.runs.create({ experimentId, name: 'retry-sweep' });
    const trial: SweepTrialPayload = {
      sweepId: parent.id,
      experimentId,
      trial: 0,
      params: { learning_rate: '0.3' },
      spec: {
        datasetRef: 'credit@1',
        target: 'defaulted',
        kind: 'gbdt',
        params: { n_estimators: '10', learning_rate: '0.3' },
        seed: 3,
        valFraction: 0.2,
      },
      rule: null,
      objective: 'val_roc_auc',
      runName: 'retry-sweep-trial-1',
      tags: { 'mlflow.parentRunId': parent.id, 'sextant.sweep': parent.id, 'sextant.trial': '1' },
    };
    const first = (await job.handler(trial, ctx(1))) as { runId: string; objective: number };
    // The worker died after recording: the job runs again, and finds the run it left.
    const again = (await job.handler(trial, ctx(2))) as { runId: string; objective: number; status: string };
    expect(again.status).toBe('FINISHED');
    expect(again.runId).toBe(first.runId);
    expect(again.objective).toBe(first.objective);
    expect(await childRuns(a, experimentId, parent.id)).toHaveLength(1);

    await api.runs.update(parent.id, { status: 'KILLED' });
    const late = (await job.handler({ ...trial, trial: 1 }, ctx(1))) as { status: string };
    expect(late.status).toBe('CANCELLED');
    expect(await childRuns(a, experimentId, parent.id)).toHaveLength(1);
  }, 120_000);
}
