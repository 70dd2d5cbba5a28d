import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** The event outbox: events, and one delivery row per (event, in-process subscriber). */
export function eventsMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('key', 'text')
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // One event per (type, key): an emitter that retries with its key writes nothing the second time.
      // Rows without a key never collide (NULLs are distinct in both dialects).
      await db.schema.createIndex('events_type_key').on('events').columns(['type', 'key']).unique().execute();
      await db.schema.createIndex('events_created').on('events').columns(['created_at']).execute();
      await db.schema
        .createTable('event_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('event_id', 'text', (c) => c.notNull().references('events.id'))
        .addColumn('subscriber', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addUniqueConstraint('event_deliveries_event_subscriber', ['event_id', 'subscriber'])
        .execute();
      // The deliverer's question: which pending deliveries are due?
      await db.schema
        .createIndex('event_deliveries_due')
        .on('event_deliveries')
        .columns(['state', 'next_attempt_at'])
        .execute();
    },
  };
}
