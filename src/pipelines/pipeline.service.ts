import fs from 'node:fs';
import path from 'node:path';
import type { AuditLog } from '../audit/index.js';
import { type Clock, toIso } from '../core/clock.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseOrThrow } from '../core/validate.js';
import type { EventBus } from '../events/index.js';
import type { JobQueue, JobScope } from '../jobs/index.js';
import { type Db, inTransaction, isUniqueViolation } from '../store/index.js';
import * as repo from './pipeline.repo.js';
import {
  type CheckedPipeline,
  checkPipelineSpec,
  parsePipelineYaml,
  resolveParams,
} from './pipeline-spec.js';
import {
  type ListPipelineRunsQuery,
  type LogPage,
  listPipelineRunsQuerySchema,
  type Pipeline,
  type PipelineRun,
  type PipelineRunDetail,
  type PipelineRunPage,
  type PipelineRunStatus,
  pipelineRunIdSchema,
  type StepStatus,
} from './pipeline-spec.schema.js';
import type { PipelineTracking } from './ports.js';
import { advanceRun, endRun } from './run-advance.js';
import { launchesOf } from './step-job.js';

/*
 * Pipelines and their runs: registering a spec (a new version only when its digest changes), starting
 * a run (its rows, its tracked run and its first steps' jobs in one transaction), cancelling, reading.
 */

export interface PipelineServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  jobs: JobQueue;
  events: Pick<EventBus, 'emit'>;
  tracking: PipelineTracking;
  kindFor: (tags: readonly string[]) => string;
  /** Throws a ValidationError naming the step when no job kind serves its worker tags. */
  checkTags: (step: string, tags: readonly string[]) => void;
  /** Where `run:` steps of a registered pipeline execute (a spec file's run uses the file's folder). */
  workdir: string;
}

/** The input of PipelineStarter.start. */
export interface StartPipelineInput {
  pipeline: string;
  params?: Record<string, unknown>;
  trigger: { kind: 'manual' | 'cron' | 'dataset' | 'event' | 'api'; key: string; triggerId?: string };
  actor: string;
  force?: boolean;
  /** Tags of the run's tracked run (e.g. team): its steps' cost scope, so budgets on them apply. */
  tags?: Record<string, string>;
}

const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

function toPipeline(r: repo.PipelineRow): Pipeline {
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    digest: r.digest,
    spec: JSON.parse(r.spec),
    createdBy: r.created_by,
    createdAt: toIso(r.created_at),
  };
}

function toRun(r: repo.PipelineRunRow): PipelineRun {
  return {
    id: r.id,
    pipeline: r.pipeline,
    version: r.version,
    status: r.status as PipelineRunStatus,
    params: JSON.parse(r.params),
    trigger: { kind: r.trigger_kind, key: r.trigger_key, triggerId: r.trigger_id },
    actor: r.actor,
    force: r.force === 1,
    trackingRunId: r.tracking_run_id,
    failedStep: r.failed_step,
    error: r.error,
    createdAt: toIso(r.created_at),
    finishedAt: r.finished_at === null ? null : toIso(r.finished_at),
  };
}

export function createPipelineService(d: PipelineServiceDeps) {
  const { db, clock, audit } = d;

  /** Registers a checked spec; the same content registers once (its existing version is returned). */
  async function register(
    checked: CheckedPipeline,
    actor: string,
  ): Promise<{ pipeline: Pipeline; created: boolean }> {
    const name = checked.spec.name;
    for (let tries = 0; ; tries++) {
      const existing = await repo.findPipelineByDigest({ tx: db, name, digest: checked.digest });
      if (existing) return { pipeline: toPipeline(existing), created: false };
      try {
        return await inTransaction(db, async (tx) => {
          const latest = await repo.findLatestPipeline({ tx, name });
          const now = clock.now();
          const values = {
            id: newId('ppl', now),
            name,
            version: (latest?.version ?? 0) + 1,
            digest: checked.digest,
            spec: JSON.stringify(checked.spec),
            created_by: actor,
            created_at: now,
          };
          await repo.insertPipeline({ tx, values });
          await audit.append(tx, {
            actor,
            action: 'pipeline.create',
            entityType: 'pipeline',
            entityId: values.id,
            after: { name, version: values.version, digest: values.digest },
          });
          return { pipeline: toPipeline(values), created: true };
        });
      } catch (err) {
        // Two registrations raced for the next version: read again.
        if (tries < 3 && isUniqueViolation(err)) continue;
        throw err;
      }
    }
  }

  /** Registers a spec from YAML text. */
  async function create(input: { yaml: string; actor: string }) {
    return register(parsePipelineYaml(input.yaml), input.actor);
  }

  /** A registered pipeline by name (its latest version), or a spec file (registered on the way). */
  async function resolvePipeline(
    ref: string,
    actor: string,
  ): Promise<{ row: repo.PipelineRow; workdir: string }> {
    if (/\.ya?ml$/i.test(ref) || ref.includes('/')) {
      let text: string;
      try {
        text = fs.readFileSync(ref, 'utf8');
      } catch {
        throw new ValidationError(`pipeline: no pipeline file '${ref}'`, { field: 'pipeline' });
      }
      const { pipeline } = await register(parsePipelineYaml(text), actor);
      const row = await repo.findPipeline({ tx: db, id: pipeline.id });
      if (!row) throw new NotFoundError('pipeline', pipeline.id);
      return { row, workdir: path.dirname(path.resolve(ref)) };
    }
    const row = await repo.findLatestPipeline({ tx: db, name: ref });
    if (!row) throw new NotFoundError('pipeline', ref);
    return { row, workdir: d.workdir };
  }

  /** Starts a run; returns at once with its id (steps run on the job queue). */
  async function start(input: StartPipelineInput): Promise<{ runId: string; status: PipelineRunStatus }> {
    const { row, workdir } = await resolvePipeline(input.pipeline, input.actor);
    const checked = JSON.parse(row.spec) as CheckedPipeline['spec'];
    const params = resolveParams(checked, input.params ?? {});
    for (const [name, step] of Object.entries(checked.steps)) d.checkTags(name, step.tags ?? []);
    const deps = checkPipelineSpec(checked).deps;
    const now = clock.now();
    const id = newId('plr', now);
    // The tracked run first: its id goes into the run row, and a failure here writes nothing.
    const trackingRunId = await d.tracking.startRun({
      actor: input.actor,
      name: `${row.name} v${row.version}`,
      tags: {
        ...input.tags,
        'sextant.pipeline': row.name,
        'sextant.pipeline_run': id,
        'sextant.pipeline_digest': row.digest,
      },
      params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])),
    });
    // Steps' cost falls on the run's experiment, its tracked run and its tags (team budgets).
    const scope: JobScope = {
      experimentId: await d.tracking.experimentOf(trackingRunId),
      runId: trackingRunId,
      tags: { ...input.tags, 'sextant.pipeline': row.name },
    };
    const advanced = await inTransaction(db, async (tx) => {
      await repo.insertRun({
        tx,
        values: {
          id,
          pipeline_id: row.id,
          pipeline: row.name,
          version: row.version,
          status: 'running',
          params: JSON.stringify(params),
          trigger_kind: input.trigger.kind,
          trigger_key: input.trigger.key,
          trigger_id: input.trigger.triggerId ?? null,
          actor: input.actor,
          force: input.force ? 1 : 0,
          tracking_run_id: trackingRunId,
          failed_step: null,
          error: null,
          workdir,
          created_at: now,
          updated_at: now,
          finished_at: null,
        },
      });
      await repo.insertSteps({
        tx,
        values: Object.keys(checked.steps).map((name) => ({
          run_id: id,
          name,
          status: 'pending',
          deps: JSON.stringify(deps[name] ?? []),
          attempt: 0,
          job_id: null,
          cache_key: null,
          outputs: null,
          committed_attempt: null,
          exit_code: null,
          log_tail: null,
          error: null,
          tracking_run_id: null,
          started_at: null,
          finished_at: null,
        })),
      });
      await audit.append(tx, {
        actor: input.actor,
        action: 'pipeline.run.start',
        entityType: 'pipeline_run',
        entityId: id,
        after: { status: 'running' },
        details: { pipeline: row.name, version: row.version, trigger: input.trigger, force: !!input.force },
      });
      return advanceRun(d, tx, id, launchesOf(checked, scope));
    });
    for (const j of advanced.prepared) await j.dispatch().catch(() => {});
    return { runId: id, status: 'running' };
  }

  async function getRunRow(id: string): Promise<repo.PipelineRunRow> {
    const row = await repo.findRun({ tx: db, id: parseOrThrow(pipelineRunIdSchema, id, 'id') });
    if (!row) throw new NotFoundError('pipeline run', id);
    return row;
  }

  /** Cancels a running run: queued steps never start, running ones are killed. */
  async function cancel(runId: string, actor: string): Promise<void> {
    const run = await getRunRow(runId);
    if (run.status !== 'running') return;
    const running = await inTransaction(db, async (tx) => {
      await repo.lockRun({ tx, id: runId, now: clock.now() });
      const steps = await repo.listSteps({ tx, runId });
      await repo.updateStepsWhere({
        tx,
        runId,
        from: ['pending', 'queued', 'running'],
        set: { status: 'cancelled', error: `cancelled by ${actor}`, finished_at: clock.now() },
      });
      await endRun(d, tx, run, 'cancelled', undefined, `cancelled by ${actor}`, actor);
      return steps.filter((s) => (s.status === 'queued' || s.status === 'running') && s.job_id);
    });
    // After commit: a running step's job sees its signal abort and kills its process group.
    for (const s of running) if (s.job_id) await d.jobs.cancel({ actor, id: s.job_id }).catch(() => {});
    if (run.tracking_run_id)
      await d.tracking.endRun({ actor, runId: run.tracking_run_id, status: 'KILLED' }).catch(() => {});
  }

  async function active(pipeline: string) {
    const rows = await repo.activeRuns({ tx: db, pipeline });
    return rows.map((r) => ({ runId: r.id, startedAt: toIso(r.created_at), triggerKey: r.trigger_key }));
  }

  async function getRun(id: string): Promise<PipelineRunDetail> {
    const run = await getRunRow(id);
    const steps = await repo.listSteps({ tx: db, runId: run.id });
    const order = Object.keys((await specOf(run)).steps);
    steps.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    return {
      ...toRun(run),
      steps: steps.map((s) => ({
        name: s.name,
        status: s.status as StepStatus,
        deps: JSON.parse(s.deps) as string[],
        attempt: s.attempt,
        jobId: s.job_id,
        cacheKey: s.cache_key,
        outputs: parse<Record<string, unknown>>(s.outputs),
        exitCode: s.exit_code,
        logTail: s.log_tail,
        error: s.error,
        trackingRunId: s.tracking_run_id,
        startedAt: s.started_at === null ? null : toIso(s.started_at),
        finishedAt: s.finished_at === null ? null : toIso(s.finished_at),
      })),
    };
  }

  async function specOf(run: repo.PipelineRunRow) {
    const p = await repo.findPipeline({ tx: db, id: run.pipeline_id });
    return JSON.parse(p?.spec ?? '{"steps":{}}') as CheckedPipeline['spec'];
  }

  async function listRuns(query: ListPipelineRunsQuery = {}): Promise<PipelineRunPage> {
    const q = parseOrThrow(listPipelineRunsQuerySchema, query, 'query');
    const rows = await repo.listRuns({
      tx: db,
      limit: q.limit + 1,
      ...(q.pipeline ? { pipeline: q.pipeline } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.pageToken ? { before: q.pageToken } : {}),
    });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return { runs: page.map(toRun), ...(rows.length > q.limit && last ? { nextPageToken: last.id } : {}) };
  }

  async function listPipelines(): Promise<Pipeline[]> {
    return (await repo.listLatestPipelines({ tx: db })).map(toPipeline);
  }

  /**
   * Log chunks of a run after a cursor (`<created ms>.<step>.<attempt>.<seq>`); `-f` polls with the
   * cursor of the last page until `done`.
   */
  async function logs(input: {
    runId: string;
    step?: string;
    after?: string | null;
    limit?: number;
  }): Promise<LogPage> {
    const run = await getRunRow(input.runId);
    const after = parseCursor(input.after);
    const rows = await repo.listLogs({
      tx: db,
      runId: run.id,
      ...(input.step ? { step: input.step } : {}),
      afterCreated: after?.created ?? 0,
      limit: (input.limit ?? 1000) + 200,
    });
    const fresh = rows.filter((r) => !after || compareKey(r, after) > 0).slice(0, input.limit ?? 1000);
    const chunks = fresh.map((r) => ({
      step: r.step,
      attempt: r.attempt,
      seq: r.seq,
      text: r.chunk,
      cursor: `${r.created_at}.${r.step}.${r.attempt}.${r.seq}`,
    }));
    return {
      chunks,
      done:
        run.status !== 'running' &&
        fresh.length === rows.filter((r) => !after || compareKey(r, after) > 0).length,
      cursor: chunks[chunks.length - 1]?.cursor ?? input.after ?? null,
    };
  }

  return { create, register, start, cancel, active, getRun, listRuns, listPipelines, logs };
}

type Cursor = { created: number; step: string; attempt: number; seq: number };

function parseCursor(c: string | null | undefined): Cursor | undefined {
  if (!c) return undefined;
  const m = /^(\d+)\.([a-z0-9_-]+)\.(\d+)\.(\d+)$/.exec(c);
  if (!m) throw new ValidationError('after: not a log cursor', { field: 'after' });
  return { created: Number(m[1]), step: m[2] ?? '', attempt: Number(m[3]), seq: Number(m[4]) };
}

function compareKey(
  r: { created_at: number; step: string; attempt: number; seq: number },
  c: Cursor,
): number {
  return (
    r.created_at - c.created ||
    (r.step < c.step ? -1 : r.step > c.step ? 1 : 0) ||
    r.attempt - c.attempt ||
    r.seq - c.seq
  );
}

export type PipelineService = ReturnType<typeof createPipelineService>;
