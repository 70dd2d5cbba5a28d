/*
 * Table types of pipelines: registered pipeline versions (one row per content digest), their runs,
 * each step of a run, the appended log chunks of a step, and the step cache (DVC's run cache).
 */

export interface PipelineTable {
  id: string;
  name: string;
  /** 1, 2, ... per name; a new version only when the spec's digest changes. */
  version: number;
  /** sha256 of the canonical JSON of the validated spec. */
  digest: string;
  /** The validated spec, JSON. */
  spec: string;
  created_by: string;
  created_at: number;
}

export interface PipelineRunTable {
  id: string;
  pipeline_id: string;
  pipeline: string;
  version: number;
  /** 'running' | 'succeeded' | 'failed' | 'cancelled' (PipelineRunStatus). */
  status: string;
  /** JSON: the resolved params. */
  params: string;
  trigger_kind: string;
  trigger_key: string;
  trigger_id: string | null;
  actor: string;
  /** 1: the step cache is bypassed. */
  force: number;
  /** The tracked run this pipeline run is (its steps are child runs). */
  tracking_run_id: string | null;
  failed_step: string | null;
  error: string | null;
  /** Where run: steps execute. */
  workdir: string;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface PipelineStepTable {
  run_id: string;
  name: string;
  /** 'pending' | 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cached' | 'cancelled'. */
  status: string;
  /** JSON array: every step this one waits for (needs: plus data dependencies). */
  deps: string;
  /** The attempt now running, or the last one. */
  attempt: number;
  job_id: string | null;
  cache_key: string | null;
  /** JSON: output name -> value, set once by the commit of the attempt that finished the step. */
  outputs: string | null;
  /** The attempt whose commit finished the step; a second commit finds it set and does nothing. */
  committed_attempt: number | null;
  exit_code: number | null;
  log_tail: string | null;
  error: string | null;
  tracking_run_id: string | null;
  started_at: number | null;
  finished_at: number | null;
}

export interface PipelineStepLogTable {
  run_id: string;
  step: string;
  attempt: number;
  seq: number;
  chunk: string;
  created_at: number;
}

export interface PipelineStepCacheTable {
  cache_key: string;
  pipeline: string;
  step: string;
  /** JSON: the outputs the step recorded. */
  outputs: string;
  run_id: string;
  created_at: number;
}

/** Table types of pipelines. */
export interface PipelineTables {
  pipelines: PipelineTable;
  pipeline_runs: PipelineRunTable;
  pipeline_steps: PipelineStepTable;
  pipeline_step_logs: PipelineStepLogTable;
  pipeline_step_cache: PipelineStepCacheTable;
}
