import { z } from 'zod';
import { defineEvent, type EventEmitter } from '../events/index.js';
import { deploymentSchema } from './serving.schema.js';

/* The events serving emits, each in the transaction of the change it reports. */

const deploymentChange = z.object({ deployment: deploymentSchema, actor: z.string() });

export const deploymentCreated = defineEvent({
  type: 'deployment.created',
  emittedBy: 'serving',
  description: 'A deployment was created (the model ref it follows, its challenger, its ledger mode).',
  schema: deploymentChange,
});

export const deploymentUpdated = defineEvent({
  type: 'deployment.updated',
  emittedBy: 'serving',
  description: 'A deployment changed what it follows, its challenger or its ledger mode (the new state).',
  schema: deploymentChange,
});

export const deploymentDeleted = defineEvent({
  type: 'deployment.deleted',
  emittedBy: 'serving',
  description: 'A deployment was deleted (soft: its predictions stay).',
  schema: deploymentChange,
});

export const predictionFeedbackRecorded = defineEvent({
  type: 'prediction.feedback.recorded',
  emittedBy: 'serving',
  description:
    'Delayed labels were recorded for predictions of one deployment (one event per deployment per submission; duplicates and failures are not counted).',
  schema: z.object({
    deploymentId: z.string(),
    /** The model versions that made the labelled predictions. */
    modelVersionIds: z.array(z.string()),
    recorded: z.number().int().positive(),
    receivedBy: z.string(),
  }),
});

/** Every event serving emits. */
export const servingEvents = [
  deploymentCreated,
  deploymentUpdated,
  deploymentDeleted,
  predictionFeedbackRecorded,
] as const;

/** The port serving emits through (the event bus), typed by serving's own events. */
export type ServingEvents = EventEmitter<typeof servingEvents>;
