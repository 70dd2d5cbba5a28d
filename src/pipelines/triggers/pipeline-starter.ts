/*
 * The port triggers start pipelines through. P1's engine (src/pipelines/) implements it; until that
 * lands on this branch this local copy is the contract, and tests implement it in memory.
 */

/** A pipeline run's state as the engine reports it. */
export type PipelineRunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | (string & {});

/** What started a run: stored with it, so a run says which trigger, slot, version or event caused it. */
export interface PipelineTriggerRef {
  kind: 'manual' | 'cron' | 'dataset' | 'event' | 'api';
  key: string;
  triggerId?: string;
}

/** Starts, cancels and lists the active runs of pipelines. */
export interface PipelineStarter {
  start(input: {
    pipeline: string;
    params?: Record<string, unknown>;
    trigger: PipelineTriggerRef;
    actor: string;
    force?: boolean;
  }): Promise<{ runId: string; status: PipelineRunStatus }>;
  cancel(runId: string, actor: string): Promise<void>;
  active(pipeline: string): Promise<Array<{ runId: string; startedAt: string; triggerKey: string }>>;
}
