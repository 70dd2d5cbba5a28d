import type { z } from 'zod';
import type { Tx } from '../store/index.js';

/*
 * An event type as its domain declares it: a name, the zod schema of its payload and one line of what
 * it means. The catalogue is open: each domain keeps its definitions beside its code
 * (registry/registry.events.ts, serving/serving.events.ts, ...) and the wiring hands the list to the bus.
 */

/** Event type names: dotted lower-case words, `<subject>.<what happened>` (e.g. `alias.moved`). */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

export interface EventDefinition<T extends string = string, P = unknown> {
  readonly type: T;
  readonly schema: z.ZodType<P>;
  readonly description: string;
  /** The domain that emits it, for the catalogue's readers (docs, `GET` listings). */
  readonly emittedBy: string;
}

/** Declares one event type; `defineEvent({ type: 'alias.moved', schema, description, emittedBy: 'registry' })`. */
export function defineEvent<const T extends string, S extends z.ZodType>(def: {
  type: T;
  schema: S;
  description: string;
  emittedBy: string;
}): EventDefinition<T, z.output<S>> {
  return def as EventDefinition<T, z.output<S>>;
}

type AnyDefinition = EventDefinition<string, unknown>;

/** The payload type of event `T` among definitions `D`. */
export type EventPayload<D extends readonly AnyDefinition[], T extends string> =
  Extract<D[number], { type: T }> extends EventDefinition<T, infer P> ? P : never;

/** Per-emit options. */
export interface EmitOptions {
  /** Idempotency key: a second emit of the same type and key writes nothing and returns the first. */
  key?: string;
  /** Who caused the event (the audit actor), stored beside it. */
  actor?: string;
}

/** An event as stored and as subscribers receive it. */
export interface EventRecord<T extends string = string, P = unknown> {
  id: string;
  type: T;
  key: string | null;
  actor: string | null;
  /** Epoch ms. */
  createdAt: number;
  payload: P;
}

/** What emit() tells the caller: the event, and whether this call wrote it (false: its key was seen). */
export interface Emitted {
  event: EventRecord;
  written: boolean;
}

/**
 * The port a domain emits through, typed by its own definitions: `EventEmitter<typeof registryEvents>`.
 * The bus satisfies it for any list of definitions it was built with.
 */
export interface EventEmitter<D extends readonly AnyDefinition[]> {
  emit<T extends D[number]['type']>(
    tx: Tx,
    type: T,
    payload: EventPayload<D, T>,
    options?: EmitOptions,
  ): Promise<Emitted>;
}

/**
 * Narrows a delivered event to a definition's payload type (the payload was checked at emit):
 * `if (isEvent(aliasMoved, event)) event.payload.toVersion`.
 */
export function isEvent<T extends string, P>(
  def: EventDefinition<T, P>,
  event: EventRecord,
): event is EventRecord<T, P> {
  return event.type === def.type;
}
