import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { AuditLog } from '../audit/index.js';
import type { BlobStore } from '../blobs/index.js';
import type { Clock } from '../core/clock.js';
import type { EventBus } from '../events/index.js';
import { defineJob, type JobContext, type JobQueue, type JobScope, jobScopeSchema } from '../jobs/index.js';
import type { Db, Tx } from '../store/index.js';
import { runCommand } from './command-runner.js';
import { type ExprScope, interpolate, interpolateDeep } from './expressions.js';
import * as repo from './pipeline.repo.js';
import { durationMs } from './pipeline-spec.js';
import type { BuiltinStep, PipelineSpec, StepSpec } from './pipeline-spec.schema.js';
import type { BuiltinStepRunner, PipelineDatasets, PipelineTracking } from './ports.js';
import { advanceRun, type StepLaunch } from './run-advance.js';
import { codeDigest, stepCacheKey } from './step-cache.js';

/*
 * The `pipeline.step` job: runs one step of one run on whichever worker takes it. The step's end
 * (outputs, status, cache entry, the next steps' jobs, the run's end) is one ctx.commit: a step retried
 * after its worker was killed commits once, and a second commit of the same step changes nothing.
 */

export const STEP_JOB = 'pipeline.step';
export const stepPayloadSchema = z.object({
  runId: z.string(),
  step: z.string(),
  /** The step's retries + 1: the handler knows which failure is its last. */
  attempts: z.number().int().min(1),
  /** The run's cost scope (its experiment, tracked run and tags), handed from step to step. */
  scope: jobScopeSchema.optional(),
});

const DEFAULT_TIMEOUT_MS = 3_600_000;
const LOG_TAIL = 2_000;

export interface StepJobDeps {
  db: Db;
  clock: Clock;
  blobs: BlobStore;
  audit: AuditLog;
  jobs: JobQueue;
  events: Pick<EventBus, 'emit'>;
  datasets: PipelineDatasets;
  tracking: PipelineTracking;
  builtins: BuiltinStepRunner;
  kindFor: (tags: readonly string[]) => string;
}

/** Each step's launch options, read from a run's spec; `scope` is the run's cost scope. */
export function launchesOf(spec: PipelineSpec, scope?: JobScope): (step: string) => StepLaunch {
  return (step) => {
    const s = spec.steps[step];
    return { tags: s?.tags ?? [], attempts: (s?.retries ?? 0) + 1, ...(scope ? { scope } : {}) };
  };
}

/** Loads the spec a run was started from. */
export async function specOfRun(db: Db, run: repo.PipelineRunRow): Promise<PipelineSpec> {
  const p = await repo.findPipeline({ tx: db, id: run.pipeline_id });
  if (!p) throw new Error(`pipeline '${run.pipeline_id}' of run '${run.id}' is missing`);
  return JSON.parse(p.spec) as PipelineSpec;
}

type FileOutput = { kind: 'file'; path: string; sha256: string; size: number };

export function stepJobKind(d: StepJobDeps, name = STEP_JOB, tags: string[] = []) {
  return defineJob({
    name,
    payload: stepPayloadSchema,
    queue: 'default',
    tags,
    // A step's own timeout is enforced on its process group; this only bounds a stuck handler.
    timeoutMs: 24 * 3_600_000,
    backoffMs: 500,
    // A step's cost falls on the run's scope: a hard budget on it holds the step at claim time (the
    // DAG enqueues steps inside its transaction, where no admission is asked), never fails it.
    scopeOf: (p) => p.scope,
    handler: (p, ctx) => runStep(d, p, ctx),
  });
}

async function runStep(d: StepJobDeps, p: z.output<typeof stepPayloadSchema>, ctx: JobContext) {
  const { db, clock } = d;
  const run = await repo.findRun({ tx: db, id: p.runId });
  if (run?.status !== 'running') return { skipped: 'the run is not running' };
  const now = clock.now();
  const moved = await repo.updateStep({
    tx: db,
    runId: run.id,
    name: p.step,
    from: ['queued', 'running'],
    set: { status: 'running', attempt: ctx.attempt, started_at: now, job_id: ctx.jobId },
  });
  if (!moved) return { skipped: 'the step is not queued' };
  const spec = await specOfRun(db, run);
  const step = spec.steps[p.step];
  if (!step) throw new Error(`step '${p.step}' is not in the spec`);
  const stepRow = await repo.findStep({ tx: db, runId: run.id, name: p.step });
  const params = JSON.parse(run.params) as Record<string, unknown>;
  const actor = run.actor;
  let seq = 0;
  const log = async (text: string) => {
    await repo.appendLog({
      tx: db,
      values: {
        run_id: run.id,
        step: p.step,
        attempt: ctx.attempt,
        seq: seq++,
        chunk: text,
        created_at: clock.now(),
      },
    });
  };

  // The scope expressions read: params, the outputs of the steps this one depends on, its inputs.
  const deps = JSON.parse(stepRow?.deps ?? '[]') as string[];
  const steps: ExprScope['steps'] = {};
  for (const dep of deps) {
    const r = await repo.findStep({ tx: db, runId: run.id, name: dep });
    steps[dep] = r?.outputs ? (JSON.parse(r.outputs) as Record<string, unknown>) : {};
  }
  const scope: ExprScope = { params, inputs: {}, steps };
  const datasetDigests: Record<string, string> = {};
  const datasetIds: string[] = [];
  try {
    for (const [k, v] of Object.entries(step.inputs ?? {})) {
      if (typeof v === 'object') {
        const ref = String(interpolate(v.dataset, scope));
        const version = await d.datasets.resolve(ref);
        scope.inputs[k] = version.ref;
        datasetDigests[k] = version.digest;
        datasetIds.push(version.id);
      } else scope.inputs[k] = typeof v === 'string' ? interpolate(v, scope) : v;
    }
  } catch (err) {
    return fail(d, ctx, run, p, `inputs: ${(err as Error).message}`, null, '', true);
  }
  const env: Record<string, string> = {
    ...(spec.env ?? {}),
    ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, String(interpolate(v, scope))])),
    ...Object.fromEntries(
      Object.entries(scope.inputs).map(([k, v]) => [`SEXTANT_INPUT_${k.toUpperCase()}`, String(v)]),
    ),
    SEXTANT_PIPELINE_RUN: run.id,
    SEXTANT_STEP: p.step,
  };
  const resolved: { run: string; outputs: unknown } | { uses: string; with: Record<string, unknown> } =
    'run' in step
      ? { run: String(interpolate(step.run, scope)), outputs: step.outputs ?? {} }
      : { uses: step.uses, with: interpolateDeep(step.with ?? {}, scope) as Record<string, unknown> };

  const cacheable = step.cache !== false && !('uses' in step && /register|promote/.test(step.uses));
  const cacheKey = cacheable
    ? stepCacheKey({
        pipeline: run.pipeline,
        step: p.step,
        resolved,
        code: codeDigest(step, run.workdir),
        datasets: datasetDigests,
        params,
        // The run's id differs on every run and must not make every key new.
        env: { ...env, SEXTANT_PIPELINE_RUN: '' },
      })
    : null;
  if (cacheKey && !run.force) {
    const hit = await repo.findCache({ tx: db, key: cacheKey });
    if (hit) {
      const outputs = JSON.parse(hit.outputs) as Record<string, unknown>;
      await restoreFiles(d.blobs, run.workdir, outputs);
      await log(
        `cache hit: key ${cacheKey.slice(0, 12)}, outputs of run ${hit.run_id}; the step did not run\n`,
      );
      return finish(d, ctx, run, p, { status: 'cached', outputs, cacheKey, exitCode: null, tail: null });
    }
  }

  let childRun = stepRow?.tracking_run_id ?? null;
  if (!childRun && run.tracking_run_id) {
    childRun = await d.tracking
      .startRun({
        actor,
        name: `${run.pipeline}/${p.step}`,
        parentRunId: run.tracking_run_id,
        tags: { 'sextant.pipeline_run': run.id, 'sextant.pipeline_step': p.step },
        params: {},
      })
      .catch(() => null);
    if (childRun)
      await repo.updateStep({
        tx: db,
        runId: run.id,
        name: p.step,
        from: ['running'],
        set: { tracking_run_id: childRun },
      });
    if (childRun && datasetIds.length)
      await d.tracking
        .linkDatasets({ actor, runId: childRun, versionIds: datasetIds, direction: 'input' })
        .catch(() => {});
  }
  const timeoutMs = durationMs(step.timeout, DEFAULT_TIMEOUT_MS);

  if ('run' in resolved) {
    await log(`$ ${resolved.run}\n`);
    const r = await runCommand({
      command: resolved.run,
      cwd: run.workdir,
      env,
      timeoutMs,
      signal: ctx.signal,
      onOutput: log,
    });
    if (r.aborted) return { aborted: true };
    const tail = r.tail.slice(-LOG_TAIL);
    if (childRun)
      await d.tracking
        .putArtifact({
          actor,
          runId: childRun,
          path: `logs/${p.step}.attempt-${ctx.attempt}.log`,
          content: r.tail,
        })
        .catch(() => {});
    if (r.timedOut)
      return fail(d, ctx, run, p, `timed out after ${timeoutMs} ms (process group killed)`, r.exitCode, tail);
    if (r.exitCode !== 0) return fail(d, ctx, run, p, `exited with code ${r.exitCode}`, r.exitCode, tail);
    let outputs: Record<string, unknown>;
    try {
      outputs = await collectOutputs(
        d,
        run,
        step as Extract<StepSpec, { run: string }>,
        r.values,
        actor,
        childRun,
      );
    } catch (err) {
      return fail(d, ctx, run, p, `outputs: ${(err as Error).message}`, r.exitCode, tail);
    }
    return finish(d, ctx, run, p, { status: 'succeeded', outputs, cacheKey, exitCode: 0, tail });
  }
  try {
    const builtin = resolved.uses.slice('sextant/'.length) as BuiltinStep;
    await log(`uses ${resolved.uses}\n`);
    const outputs = await withTimeout(
      d.builtins.run(builtin, {
        with: resolved.with,
        actor,
        runId: childRun,
        signal: ctx.signal,
        log: (l) => log(`${l}\n`),
      }),
      timeoutMs,
    );
    if (ctx.signal.aborted) return { aborted: true };
    return finish(d, ctx, run, p, { status: 'succeeded', outputs, cacheKey, exitCode: null, tail: null });
  } catch (err) {
    if (ctx.signal.aborted) return { aborted: true };
    const message = (err as Error).message;
    await log(`${message}\n`);
    return fail(d, ctx, run, p, message, null, message);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

async function collectOutputs(
  d: StepJobDeps,
  run: repo.PipelineRunRow,
  step: Extract<StepSpec, { run: string }>,
  values: Record<string, string>,
  actor: string,
  childRun: string | null,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const produced: string[] = [];
  for (const [name, o] of Object.entries(step.outputs ?? {})) {
    if (!o.file) {
      if (!(name in values)) throw new Error(`output '${name}' was not written to $SEXTANT_OUTPUT`);
      out[name] = values[name];
      continue;
    }
    const file = path.resolve(run.workdir, o.file);
    if (!fs.existsSync(file)) throw new Error(`output '${name}': the step wrote no file ${o.file}`);
    if (o.dataset) {
      const v = await d.datasets.addFile({ actor, name: o.dataset, file });
      out[name] = { kind: 'dataset', ref: v.ref, id: v.id, digest: v.digest, path: o.file };
      produced.push(v.id);
      continue;
    }
    const blob = await d.blobs.putFile(file);
    const value: FileOutput = { kind: 'file', path: o.file, sha256: blob.sha256, size: blob.size };
    out[name] = value;
    if (childRun)
      await d.tracking
        .putArtifact({
          actor,
          runId: childRun,
          path: `outputs/${name}/${path.basename(o.file)}`,
          content: fs.readFileSync(file),
        })
        .catch(() => {});
  }
  if (childRun && produced.length)
    await d.tracking
      .linkDatasets({ actor, runId: childRun, versionIds: produced, direction: 'output' })
      .catch(() => {});
  return out;
}

/** Writes a cached step's file outputs back into the workdir where they are missing or differ. */
async function restoreFiles(blobs: BlobStore, workdir: string, outputs: Record<string, unknown>) {
  for (const v of Object.values(outputs)) {
    if (!v || typeof v !== 'object' || (v as FileOutput).kind !== 'file') continue;
    const f = v as FileOutput;
    const file = path.resolve(workdir, f.path);
    if (fs.existsSync(file) && (await blobs.putFile(file)).sha256 === f.sha256) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const chunks: Buffer[] = [];
    for await (const c of await blobs.getVerified(f.sha256)) chunks.push(Buffer.from(c as Uint8Array));
    fs.writeFileSync(file, Buffer.concat(chunks));
  }
}

/** Commits the step's end and moves the DAG on; then dispatches the next steps and ends tracked runs. */
async function commitEnd(
  d: StepJobDeps,
  ctx: JobContext,
  run: repo.PipelineRunRow,
  p: z.output<typeof stepPayloadSchema>,
  write: (tx: Tx) => Promise<boolean>,
) {
  const spec = await specOfRun(d.db, run);
  const advanced = await ctx.commit(async (tx) => {
    await repo.lockRun({ tx, id: run.id, now: d.clock.now() });
    // Conditional on the step still running: a cancel, or an earlier commit, leaves it alone.
    if (!(await write(tx))) return { prepared: [] };
    return advanceRun(d, tx, run.id, launchesOf(spec, p.scope));
  });
  for (const j of advanced.prepared) await j.dispatch().catch(() => {});
  const step = await repo.findStep({ tx: d.db, runId: run.id, name: p.step });
  if (step?.tracking_run_id) {
    const status = step.status === 'failed' ? 'FAILED' : 'FINISHED';
    await d.tracking.endRun({ actor: run.actor, runId: step.tracking_run_id, status }).catch(() => {});
  }
  if (advanced.finished && run.tracking_run_id)
    await d.tracking
      .endRun({
        actor: run.actor,
        runId: run.tracking_run_id,
        status:
          advanced.finished.status === 'succeeded'
            ? 'FINISHED'
            : advanced.finished.status === 'cancelled'
              ? 'KILLED'
              : 'FAILED',
      })
      .catch(() => {});
  return { status: step?.status };
}

async function finish(
  d: StepJobDeps,
  ctx: JobContext,
  run: repo.PipelineRunRow,
  p: z.output<typeof stepPayloadSchema>,
  r: {
    status: 'succeeded' | 'cached';
    outputs: Record<string, unknown>;
    cacheKey: string | null;
    exitCode: number | null;
    tail: string | null;
  },
) {
  return commitEnd(d, ctx, run, p, async (tx) => {
    const now = d.clock.now();
    const done = await repo.updateStep({
      tx,
      runId: run.id,
      name: p.step,
      from: ['running'],
      set: {
        status: r.status,
        outputs: JSON.stringify(r.outputs),
        cache_key: r.cacheKey,
        committed_attempt: ctx.attempt,
        exit_code: r.exitCode,
        log_tail: r.tail,
        error: null,
        finished_at: now,
      },
    });
    if (done && r.status === 'succeeded' && r.cacheKey)
      await repo.putCache({
        tx,
        values: {
          cache_key: r.cacheKey,
          pipeline: run.pipeline,
          step: p.step,
          outputs: JSON.stringify(r.outputs),
          run_id: run.id,
          created_at: now,
        },
      });
    return done;
  });
}

/** A failed attempt: retried while attempts remain (the job throws); the last one fails the step. */
async function fail(
  d: StepJobDeps,
  ctx: JobContext,
  run: repo.PipelineRunRow,
  p: z.output<typeof stepPayloadSchema>,
  error: string,
  exitCode: number | null,
  tail: string,
  final = false,
) {
  // Failed attempts so far, this one included; attempts lost with their worker do not count.
  const failures = (await d.jobs.get(ctx.jobId)).log.filter((a) => a.status === 'failed').length + 1;
  if (!final && failures < p.attempts) {
    await repo.updateStep({
      tx: d.db,
      runId: run.id,
      name: p.step,
      from: ['running'],
      set: { exit_code: exitCode, log_tail: tail, error: `attempt ${ctx.attempt}: ${error}` },
    });
    throw new Error(error);
  }
  return commitEnd(d, ctx, run, p, (tx) =>
    repo.updateStep({
      tx,
      runId: run.id,
      name: p.step,
      from: ['running'],
      set: {
        status: 'failed',
        committed_attempt: ctx.attempt,
        exit_code: exitCode,
        log_tail: tail,
        error,
        finished_at: d.clock.now(),
      },
    }),
  );
}
