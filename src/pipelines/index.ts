/*
 * Pipelines: YAML specs of steps (any command, or a built-in Sextant step) forming a DAG, versioned by
 * content digest, run step by step as jobs on the jobs seam (in-process, or BullMQ workers), with a
 * step cache keyed by everything that decides a step's outputs. docs/pipelines.md explains it.
 */
import type { DomainDeps } from '../core/domain-deps.js';
import { ValidationError } from '../core/errors.js';
import type { EventBus } from '../events/index.js';
import type { JobQueue } from '../jobs/index.js';
import { createPipelineService, type StartPipelineInput } from './pipeline.service.js';
import type { PipelineRunStatus } from './pipeline-spec.schema.js';
import type { BuiltinStepRunner, PipelineDatasets, PipelineTracking } from './ports.js';
import { STEP_JOB, stepJobKind } from './step-job.js';

/** The service behind the CLI and routes. */
export type { PipelineService, StartPipelineInput } from './pipeline.service.js';
/** Parses and checks a pipeline YAML file's text (errors name the step and field). */
export { checkPipelineSpec, parsePipelineYaml, resolveParams } from './pipeline-spec.js';
export * from './pipeline-spec.schema.js';
/** The event a finished run emits. */
export { pipelineEvents, pipelineRunFinished } from './pipelines.events.js';
/** The ports the wiring implements for pipelines. */
export type { BuiltinStepRunner, PipelineDatasets, PipelineTracking } from './ports.js';
/** The job kind of a step without worker tags. */
export { STEP_JOB } from './step-job.js';

/** What the triggers (and any caller) use to start, cancel and watch pipeline runs. */
export interface PipelineStarter {
  /** Starts a run of a registered pipeline (by name, latest version) or a spec file path; returns at once. */
  start(input: {
    pipeline: string;
    params?: Record<string, unknown>;
    trigger: { kind: 'manual' | 'cron' | 'dataset' | 'event' | 'api'; key: string; triggerId?: string };
    actor: string;
    force?: boolean;
    /** Tags of the run (e.g. team): its steps' cost scope, so budgets on them apply. */
    tags?: Record<string, string>;
  }): Promise<{ runId: string; status: PipelineRunStatus }>;
  cancel(runId: string, actor: string): Promise<void>;
  /** Runs of a pipeline not yet finished (the triggers' concurrency policy reads it). */
  active(pipeline: string): Promise<Array<{ runId: string; startedAt: string; triggerKey: string }>>;
}

/** What the pipelines domain is built from. */
export interface PipelinesDomainDeps extends DomainDeps {
  jobs: JobQueue;
  events: Pick<EventBus, 'emit'>;
  datasets: PipelineDatasets;
  tracking: PipelineTracking;
  builtins: BuiltinStepRunner;
  /** Where `run:` steps of registered pipelines execute. */
  workdir: string;
  /** Worker tag sets steps may ask for; each gets its own job kind, so workers can be defined for it (default: gpu). */
  stepTags?: string[][];
}

/** Builds the pipelines domain and defines its step job kinds on the queue. */
export function createPipelinesDomain(d: PipelinesDomainDeps) {
  const tagSets = (d.stepTags ?? [['gpu']]).map((t) => [...new Set(t)].sort());
  const kindFor = (tags: readonly string[]): string => {
    const t = [...new Set(tags)].sort();
    return t.length ? `${STEP_JOB}.${t.join('.')}` : STEP_JOB;
  };
  const known = new Set([STEP_JOB, ...tagSets.map(kindFor)]);
  /** Refuses worker tags no step kind was defined for (no worker could ever take the step). */
  const checkTags = (step: string, tags: readonly string[]) => {
    if (!known.has(kindFor(tags)))
      throw new ValidationError(
        `steps.${step}.tags: no worker kind for tags [${tags.join(', ')}] (this installation offers: ${tagSets.map((t) => t.join('+')).join(', ') || 'none'})`,
        { field: `steps.${step}.tags` },
      );
  };
  const jobDeps = { ...d, kindFor };
  d.jobs.define(stepJobKind(jobDeps));
  for (const t of tagSets) if (t.length) d.jobs.define(stepJobKind(jobDeps, kindFor(t), t));
  const service = createPipelineService({ ...d, kindFor, checkTags });
  const starter: PipelineStarter = {
    start: (input: StartPipelineInput) => service.start(input),
    cancel: (runId, actor) => service.cancel(runId, actor),
    active: (pipeline) => service.active(pipeline),
  };
  return { service, starter };
}

/** The pipelines domain as the wiring holds it. */
export type PipelinesDomain = ReturnType<typeof createPipelinesDomain>;
