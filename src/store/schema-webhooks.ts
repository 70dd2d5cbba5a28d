/*
 * Table types of the webhooks domain. A target is where events go; an event is written once per emit;
 * a delivery is the outbox row of one event for one target; every HTTP attempt of a delivery is logged.
 */

export interface WebhookTargetTable {
  id: string;
  url: string;
  /** JSON array of event types; an empty array means every event. */
  events: string;
  /** HMAC key for the signature header; needed in clear to sign, never returned after creation. */
  secret: string;
  description: string | null;
  created_at: number;
  created_by: string;
  deleted_at: number | null;
}

export interface WebhookEventTable {
  id: string;
  type: string;
  /** The exact JSON body sent: {id, type, createdAt, payload}. */
  body: string;
  created_at: number;
}

export interface WebhookDeliveryTable {
  id: string;
  target_id: string;
  event_id: string;
  /** 'pending' | 'delivered' | 'failed' */
  state: string;
  attempts: number;
  next_attempt_at: number;
  /** Who holds the delivery right now and until when; taken by a conditional UPDATE. */
  lease_owner: string | null;
  lease_until: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}

export interface WebhookAttemptTable {
  id: string;
  delivery_id: string;
  attempt: number;
  at: number;
  duration_ms: number;
  /** The last URL asked (after redirects). */
  url: string;
  status_code: number | null;
  error: string | null;
}

/** Table types of the webhooks domain. */
export interface WebhookTables {
  webhook_targets: WebhookTargetTable;
  webhook_events: WebhookEventTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
}
