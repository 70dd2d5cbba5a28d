import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Pipeline triggers and their firings (unique per trigger and key: one run per slot, version or event). */
export function triggersMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('triggers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('live_name', 'text', (c) => c.unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('concurrency', 'text', (c) => c.notNull())
        .addColumn('cursor', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .execute();
      await db.schema
        .createTable('trigger_firings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('trigger_id', 'text', (c) => c.notNull().references('triggers.id'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text')
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('context', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        // The dedup: a second firing for the same slot, version or event is refused by the database.
        .addUniqueConstraint('trigger_firings_trigger_key', ['trigger_id', 'key'])
        .execute();
      // The queue drain's question: the oldest queued firings.
      await db.schema
        .createIndex('trigger_firings_status')
        .on('trigger_firings')
        .columns(['status', 'created_at'])
        .execute();
    },
  };
}
