import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Cost control's budgets and idle reaper (issue 14): the budgets, the reaper's log of what it
 * released, and two columns on jobs: the scope a job's cost falls on (so an exhausted budget can hold
 * it) and why a queued job is held.
 */
export function budgetsMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('budgets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('scope_kind', 'text', (c) => c.notNull())
        .addColumn('scope_value', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('period_start', 'bigint')
        .addColumn('period_end', 'bigint')
        .addColumn('amount', 'double precision', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('soft_share', 'double precision', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .addColumn('soft_notified_period', 'bigint')
        .addColumn('exhausted_period', 'bigint')
        .addColumn('last_spent', 'double precision')
        .addColumn('last_forecast', 'double precision')
        .addColumn('last_checked_at', 'bigint')
        .execute();
      await db.schema.createIndex('budgets_name').on('budgets').columns(['name', 'deleted_at']).execute();
      await db.schema
        .createTable('reaper_actions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('idle_ms', 'bigint')
        .addColumn('cold_start_ms', 'double precision')
        .addColumn('details', 'text')
        .execute();
      await db.schema.createIndex('reaper_actions_at').on('reaper_actions').columns(['at']).execute();
      await db.schema.alterTable('jobs').addColumn('scope', 'text').execute();
      await db.schema.alterTable('jobs').addColumn('held_reason', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('jobs').dropColumn('held_reason').execute();
      await db.schema.alterTable('jobs').dropColumn('scope').execute();
      await db.schema.dropTable('reaper_actions').execute();
      await db.schema.dropTable('budgets').execute();
    },
  };
}
