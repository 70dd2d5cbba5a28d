import { z } from 'zod';
import { defineEvent } from '../../events/index.js';
import { AlertActionSchema, AlertSeveritySchema } from './alert-rule.schema.js';

/*
 * The events alerts emit, each in the transaction of the change it reports. Webhook targets subscribed
 * to them receive them signed; `slack` is present when the rule asks for the Slack channel, and the
 * webhook envelope then carries its text and blocks at the top level, where Slack reads them.
 */

const slackMessageSchema = z.object({ text: z.string(), blocks: z.array(z.record(z.string(), z.unknown())) });

const alertEventSchema = z.object({
  alertId: z.string(),
  monitorId: z.string(),
  deploymentId: z.string(),
  rule: z.string(),
  metric: z.string(),
  feature: z.string().nullable(),
  slice: z.string().nullable(),
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  action: AlertActionSchema,
  severity: AlertSeveritySchema,
  /** One line a person can read: what fired (or cleared), where, and the value. */
  text: z.string(),
  slack: slackMessageSchema.optional(),
});
export type AlertEventPayload = z.infer<typeof alertEventSchema>;

export const alertFired = defineEvent({
  type: 'alert.fired',
  emittedBy: 'monitoring',
  description:
    "An alert rule's condition held for its windows; the alert opened (deduplicated, after cooldown).",
  schema: alertEventSchema,
});

export const alertResolved = defineEvent({
  type: 'alert.resolved',
  emittedBy: 'monitoring',
  description: "An open alert's condition cleared on a later monitor run; the alert resolved.",
  schema: alertEventSchema,
});

export const retrainRequested = defineEvent({
  type: 'model.retrain_requested',
  emittedBy: 'monitoring',
  description: "An alert with action 'retrain' fired: the model version it watched should be retrained.",
  schema: z.object({
    model: z.string(),
    version: z.number().int(),
    deploymentId: z.string(),
    alertId: z.string(),
    reason: z.string(),
  }),
});

/** Every event alerts emit. */
export const alertEvents = [alertFired, alertResolved, retrainRequested] as const;
