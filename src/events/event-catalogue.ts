import { ValidationError } from '../core/errors.js';
import { parseOrThrow } from '../core/validate.js';
import { EVENT_TYPE_PATTERN, type EventDefinition } from './event-definition.js';

/**
 * The known event types, built once by the wiring from every domain's definitions. A type declared
 * twice, or with a malformed name, fails at wiring, not at the first emit.
 */
export function createEventCatalogue(definitions: readonly EventDefinition[]) {
  const byType = new Map<string, EventDefinition>();
  for (const d of definitions) {
    if (!EVENT_TYPE_PATTERN.test(d.type))
      throw new ValidationError(
        `event type '${d.type}': must be dotted lower-case words, e.g. 'alias.moved'`,
        { field: 'type' },
      );
    if (byType.has(d.type))
      throw new ValidationError(`event type '${d.type}' is declared twice`, { field: 'type' });
    byType.set(d.type, d);
  }
  const types = [...byType.keys()].sort();

  function get(type: string): EventDefinition {
    const d = byType.get(type);
    if (!d)
      throw new ValidationError(`type: unknown event type '${type}'; one of ${types.join(', ')}`, {
        field: 'type',
      });
    return d;
  }

  return {
    /** Every declared type, sorted. */
    types: (): readonly string[] => types,
    has: (type: string): boolean => byType.has(type),
    /** The definition of a type; ValidationError for an unknown one. */
    get,
    /** Every definition, sorted by type. */
    definitions: (): EventDefinition[] => types.map((t) => byType.get(t)!),
    /** The payload checked against its type's schema; ValidationError names the field (`payload.model`). */
    parse(type: string, payload: unknown): unknown {
      return parseOrThrow(get(type).schema, payload, 'payload');
    },
  };
}

export type EventCatalogue = ReturnType<typeof createEventCatalogue>;
