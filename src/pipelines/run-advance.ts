import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../core/clock.js';
import type { EventBus } from '../events/index.js';
import type { JobQueue, JobScope, PreparedJob } from '../jobs/index.js';
import type { Tx } from '../store/index.js';
import * as repo from './pipeline.repo.js';
import { isStepDone, type PipelineRunStatus, type StepStatus } from './pipeline-spec.schema.js';

/*
 * Moves a run's DAG on, inside the transaction that recorded a step's end (or the run's start):
 * steps whose dependencies all succeeded get their job row in the same transaction, dependants of a
 * failed step are skipped, and the run ends when every step has. The caller dispatches the returned
 * jobs after commit, so no worker sees a step before the state that made it ready is committed.
 */

export interface AdvanceDeps {
  jobs: JobQueue;
  events: Pick<EventBus, 'emit'>;
  audit: AuditLog;
  clock: Clock;
  /** The job kind a step with these worker tags runs as. */
  kindFor: (tags: readonly string[]) => string;
}

/** Attempts a step's job gets on top of its retries, for workers lost mid-step. */
export const LOST_WORKER_ALLOWANCE = 3;

export interface StepLaunch {
  tags: readonly string[];
  attempts: number;
  /** What the step's cost falls on (budgets hold it at claim time when that scope is exhausted). */
  scope?: JobScope;
}

export async function advanceRun(
  d: AdvanceDeps,
  tx: Tx,
  runId: string,
  launchOf: (step: string) => StepLaunch,
): Promise<Advanced> {
  const run = await repo.findRun({ tx, id: runId });
  if (run?.status !== 'running') return { prepared: [] };
  const now = d.clock.now();
  const steps = await repo.listSteps({ tx, runId });
  const status = new Map(steps.map((s) => [s.name, s.status as StepStatus]));
  const depsOf = new Map(steps.map((s) => [s.name, JSON.parse(s.deps) as string[]]));
  // Skips spread down the DAG until nothing more changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of steps) {
      if (status.get(s.name) !== 'pending') continue;
      const blocked = (depsOf.get(s.name) ?? []).find((x) => {
        const st = status.get(x);
        return st === 'failed' || st === 'skipped' || st === 'cancelled';
      });
      if (!blocked) continue;
      await repo.updateStep({
        tx,
        runId,
        name: s.name,
        from: ['pending'],
        set: { status: 'skipped', error: `skipped: step '${blocked}' did not succeed`, finished_at: now },
      });
      status.set(s.name, 'skipped');
      changed = true;
    }
  }
  const prepared: PreparedJob[] = [];
  for (const s of steps) {
    if (status.get(s.name) !== 'pending') continue;
    const ready = (depsOf.get(s.name) ?? []).every((x) => {
      const st = status.get(x);
      return st === 'succeeded' || st === 'cached';
    });
    if (!ready) continue;
    const launch = launchOf(s.name);
    const p = await d.jobs.enqueueIn(
      tx,
      d.kindFor(launch.tags),
      { runId, step: s.name, attempts: launch.attempts, ...(launch.scope ? { scope: launch.scope } : {}) },
      // Room beyond the step's own attempts for workers lost mid-step (killed, cut off): a lost
      // attempt is not a failure of the step, and the step runs again elsewhere.
      { key: `pipeline:${runId}:${s.name}`, attempts: launch.attempts + LOST_WORKER_ALLOWANCE },
    );
    await repo.updateStep({
      tx,
      runId,
      name: s.name,
      from: ['pending'],
      set: { status: 'queued', job_id: p.job.id },
    });
    status.set(s.name, 'queued');
    prepared.push(p);
  }
  if ([...status.values()].every(isStepDone)) {
    const failed = steps.find((s) => status.get(s.name) === 'failed');
    const final: PipelineRunStatus = failed
      ? 'failed'
      : [...status.values()].some((s) => s === 'cancelled')
        ? 'cancelled'
        : 'succeeded';
    const error = failed ? `step '${failed.name}' failed: ${failed.error ?? ''}`.trim() : null;
    if (await endRun(d, tx, run, final, failed?.name, error, 'system'))
      return { prepared, finished: { run, status: final } };
  }
  return { prepared };
}

/** Jobs to dispatch after commit; `finished` when this transaction ended the run. */
export interface Advanced {
  prepared: PreparedJob[];
  finished?: { run: repo.PipelineRunRow; status: PipelineRunStatus };
}

/** Ends a running run: its row, its audit entry and its event, in the caller's transaction. */
export async function endRun(
  d: Pick<AdvanceDeps, 'events' | 'audit' | 'clock'>,
  tx: Tx,
  run: repo.PipelineRunRow,
  status: PipelineRunStatus,
  failedStep: string | undefined,
  error: string | null,
  actor: string,
): Promise<boolean> {
  const now = d.clock.now();
  const ended = await repo.finishRun({
    tx,
    id: run.id,
    set: { status, failed_step: failedStep ?? null, error, finished_at: now, updated_at: now },
  });
  if (!ended) return false;
  await d.audit.append(tx, {
    actor,
    action: status === 'cancelled' ? 'pipeline.run.cancel' : 'pipeline.run.finish',
    entityType: 'pipeline_run',
    entityId: run.id,
    before: { status: 'running' },
    after: { status, ...(failedStep ? { failedStep } : {}) },
    details: { pipeline: run.pipeline, version: run.version },
  });
  await d.events.emit(
    tx,
    'pipeline.run.finished',
    { pipelineRunId: run.id, pipeline: run.pipeline, status, ...(failedStep ? { failedStep } : {}) },
    { key: `pipeline.run.finished:${run.id}` },
  );
  return true;
}
