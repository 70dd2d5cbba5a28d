import { z } from 'zod';
import { defineEvent } from '../events/index.js';
import { pipelineRunStatusSchema } from './pipeline-spec.schema.js';

/** A pipeline run ended (succeeded, failed naming its step, or cancelled); emitted in the transaction that ends it. */
export const pipelineRunFinished = defineEvent({
  type: 'pipeline.run.finished',
  emittedBy: 'pipelines',
  description: 'A pipeline run ended: succeeded, failed (failedStep names the step) or cancelled.',
  schema: z.object({
    pipelineRunId: z.string(),
    pipeline: z.string(),
    status: pipelineRunStatusSchema,
    failedStep: z.string().optional(),
  }),
});

export const pipelineEvents = [pipelineRunFinished];
