import { z } from 'zod';
import { defineEvent } from '../events/index.js';
import {
  aliasEventSchema,
  approvalRefSchema,
  gateResultSchema,
  modelFormatSchema,
  promotionKindSchema,
  promotionStatusSchema,
} from './registry.schema.js';

/*
 * The events the registry emits, each in the transaction of the change it reports. Their names and
 * payloads are what webhook receivers have always been sent; changing a payload is an API change.
 */

export const modelVersionCreated = defineEvent({
  type: 'model_version.created',
  emittedBy: 'registry',
  description: 'A model version was registered (from a run or an uploaded file).',
  schema: z.object({
    model: z.string(),
    version: z.number().int(),
    runId: z.string().nullable(),
    sha256: z.string(),
    format: modelFormatSchema,
    actor: z.string(),
  }),
});

export const promotionRequestOpened = defineEvent({
  type: 'promotion_request.opened',
  emittedBy: 'registry',
  description: 'A promotion (or rollback) request was opened; its gates were evaluated.',
  schema: z.object({
    id: z.string(),
    model: z.string(),
    version: z.number().int(),
    alias: z.string(),
    kind: promotionKindSchema,
    status: promotionStatusSchema,
    gates: z.array(gateResultSchema),
    requestedBy: z.string(),
  }),
});

export const promotionRequestDecided = defineEvent({
  type: 'promotion_request.decided',
  emittedBy: 'registry',
  description:
    'A promotion request ended: executed or blocked (with the approvals behind it), or rejected (by whom, why).',
  schema: z.object({
    id: z.string(),
    model: z.string(),
    version: z.number().int(),
    alias: z.string(),
    status: promotionStatusSchema,
    /** executed | blocked */
    approvals: z.array(approvalRefSchema).optional(),
    /** rejected */
    by: z.string().optional(),
    comment: z.string().nullable().optional(),
  }),
});

export const aliasMoved = defineEvent({
  type: 'alias.moved',
  emittedBy: 'registry',
  description: 'An alias was set, moved by a promotion, or deleted (toVersion null).',
  schema: aliasEventSchema,
});

export const aliasRolledBack = defineEvent({
  type: 'alias.rolled_back',
  emittedBy: 'registry',
  description: 'An alias was rolled back to the version it held before.',
  schema: aliasEventSchema,
});

/** Every event the registry emits. */
export const registryEvents = [
  modelVersionCreated,
  promotionRequestOpened,
  promotionRequestDecided,
  aliasMoved,
  aliasRolledBack,
] as const;
