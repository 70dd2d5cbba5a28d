import { z } from 'zod';

/*
 * Contracts of webhooks, shared by the API, the CLI and the client. Times are ISO-8601 in the API.
 */

/**
 * An event type a target subscribes to. The catalogue is open (each domain declares its own events),
 * so the schema checks the shape and the service checks the name against the catalogue.
 */
export const webhookEventTypeSchema = z.string().min(1).max(200);

/** The type of the event `webhooks test` sends; it goes to the one target tested. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

/** What the event bus hands to emit(): its event's id, time, type and checked payload. */
export interface WebhookEventInput {
  type: string;
  payload: unknown;
  /** The event's id (evt_...); a new one when absent. */
  id?: string;
  /** The event's time (epoch ms); now when absent. */
  createdAt?: number;
}

export const deliveryStateSchema = z.enum(['pending', 'delivered', 'failed']);
export type DeliveryState = z.infer<typeof deliveryStateSchema>;

export const webhookIdSchema = z.string().regex(/^whk_[0-9a-z]{26}$/, 'must be a webhook id (whk_...)');

export const createWebhookInputSchema = z.strictObject({
  url: z.string().min(1).max(2048),
  /** Event types to send; omitted or empty means every event. */
  events: z.array(webhookEventTypeSchema).max(100).optional(),
  /** HMAC key; generated when omitted (and shown once). */
  secret: z.string().min(16, 'must be at least 16 characters').max(256).optional(),
  description: z.string().max(500).optional(),
});
export type CreateWebhookInput = z.infer<typeof createWebhookInputSchema>;

export const webhookTargetSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().optional(),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type WebhookTarget = z.infer<typeof webhookTargetSchema>;

/** The reply to adding a target: the only time its secret is shown. */
export const createdWebhookSchema = z.object({ target: webhookTargetSchema, secret: z.string() });
export type CreatedWebhook = z.infer<typeof createdWebhookSchema>;

export const webhookAttemptSchema = z.object({
  attempt: z.number().int(),
  at: z.string(),
  durationMs: z.number().int(),
  url: z.string(),
  statusCode: z.number().int().optional(),
  error: z.string().optional(),
});
export type WebhookAttempt = z.infer<typeof webhookAttemptSchema>;

export const webhookDeliverySchema = z.object({
  id: z.string(),
  targetId: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  state: deliveryStateSchema,
  attempts: z.number().int(),
  /** When the next attempt is due; absent once delivered or failed. */
  nextAttemptAt: z.string().optional(),
  lastStatusCode: z.number().int().optional(),
  lastError: z.string().optional(),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
  log: z.array(webhookAttemptSchema),
});
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

export const deliveriesQuerySchema = z.strictObject({
  target: webhookIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});
export type DeliveriesQuery = z.input<typeof deliveriesQuerySchema>;
