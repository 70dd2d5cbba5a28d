/*
 * Table types of the event outbox. An event is written once, in the transaction of the change it
 * describes; a delivery is one event for one in-process subscriber (a handler or a job trigger),
 * claimed with a lease and marked done at most once. Webhook deliveries keep their own tables
 * (schema-webhooks.ts): they carry an HTTP attempt log.
 */

export interface EventTable {
  /** evt_<ulid>: sortable, so events read back in the order they were emitted. */
  id: string;
  type: string;
  /** The emitter's idempotency key: a second emit of one (type, key) writes nothing. */
  key: string | null;
  /** The payload as JSON, already checked against the type's schema. */
  payload: string;
  /** Who caused it, when the emitter says (the audit actor). */
  actor: string | null;
  created_at: number;
}

export interface EventDeliveryTable {
  id: string;
  event_id: string;
  /** The subscriber's name; unique per event, so one event reaches one subscriber through one row. */
  subscriber: string;
  /** 'pending' | 'done' | 'failed' */
  state: string;
  attempts: number;
  next_attempt_at: number;
  /** Who holds the delivery and until when; taken by a conditional UPDATE. */
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}

/** Table types of the event outbox. */
export interface EventTables {
  events: EventTable;
  event_deliveries: EventDeliveryTable;
}
