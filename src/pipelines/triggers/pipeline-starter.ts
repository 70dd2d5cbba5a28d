import type { PipelineStarter } from '../index.js';

/*
 * The port triggers start pipelines through: the engine's own (src/pipelines/index.ts). Tests implement
 * it in memory.
 */

export type { PipelineStarter } from '../index.js';
export type { PipelineRunStatus } from '../pipeline-spec.schema.js';

/** What started a run: stored with it, so a run says which trigger, slot, version or event caused it. */
export type PipelineTriggerRef = Parameters<PipelineStarter['start']>[0]['trigger'];
