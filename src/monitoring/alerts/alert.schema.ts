import { z } from 'zod';
import { AlertActionSchema, AlertSeveritySchema } from './alert-rule.schema.js';

/*
 * Alerts as the API, the CLI and the client see them. Times are ISO-8601; an alert is open while it is
 * firing or acknowledged, and resolves by itself once its condition clears.
 */

/** firing -> acknowledged -> resolved; firing -> resolved. */
export const AlertStateSchema = z.enum(['firing', 'acknowledged', 'resolved']);
export type AlertState = z.infer<typeof AlertStateSchema>;

export const alertIdSchema = z.string().regex(/^alr_[0-9a-z]{26}$/, 'must be an alert id (alr_...)');

/** What the rule's action did once the alert fired. */
export const ActionOutcomeSchema = z.object({
  action: AlertActionSchema,
  /** done: rolled back / retrain requested; requested: a rollback request awaits approval; failed: see message. */
  status: z.enum(['done', 'requested', 'failed', 'skipped']),
  message: z.string(),
});
export type ActionOutcome = z.infer<typeof ActionOutcomeSchema>;

export const alertSchema = z.object({
  id: z.string(),
  rule: z.string(),
  monitorId: z.string(),
  deploymentId: z.string(),
  modelVersionId: z.string(),
  metric: z.string(),
  feature: z.string().nullable(),
  slice: z.string().nullable(),
  severity: AlertSeveritySchema,
  action: AlertActionSchema,
  state: AlertStateSchema,
  /** The condition in words: `> 0.2`, `status alert`. */
  condition: z.string(),
  /** The value that fired it (null when a status rule fired on a point without a value). */
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  /** The window of the latest point that held the condition. */
  windowStart: z.string(),
  windowEnd: z.string(),
  firedAt: z.string(),
  lastSeenAt: z.string(),
  acknowledgedAt: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  comment: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  actionOutcome: ActionOutcomeSchema.nullable(),
});
export type Alert = z.infer<typeof alertSchema>;

export const listAlertsQuerySchema = z.strictObject({
  state: z.union([AlertStateSchema, z.literal('open')]).optional(),
  /** A deployment's id or name. */
  deployment: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type ListAlertsQuery = z.input<typeof listAlertsQuerySchema>;

export const ackAlertInputSchema = z.strictObject({ comment: z.string().max(2000).optional() });
export type AckAlertInput = z.infer<typeof ackAlertInputSchema>;

/** What one evaluation of a run's points did. */
export const evaluationSchema = z.object({
  fired: z.array(alertSchema),
  resolved: z.array(alertSchema),
  /** Open alerts whose condition still holds (seen again, not notified again). */
  stillOpen: z.number().int(),
  /** Alerts a rule would have fired but its cooldown held back. */
  suppressed: z.number().int(),
});
export type Evaluation = z.infer<typeof evaluationSchema>;
