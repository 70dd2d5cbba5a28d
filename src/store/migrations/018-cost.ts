import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Cost (issue 14): usage records of the meters and the versioned price book. Usage is read by time
 * range and by what it is attributed to (run, deployment), hence the indexes.
 */
export function costMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('cost_usage')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text')
        .addColumn('job_id', 'text')
        .addColumn('deployment_id', 'text')
        .addColumn('model_version_id', 'text')
        .addColumn('host', 'text')
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint', (c) => c.notNull())
        .addColumn('wall_seconds', 'double precision', (c) => c.notNull())
        .addColumn('cpu_seconds', 'double precision')
        .addColumn('peak_memory_bytes', 'double precision')
        .addColumn('requested_cpus', 'double precision')
        .addColumn('requested_memory_bytes', 'double precision')
        .addColumn('gpu_model', 'text')
        .addColumn('gpu_seconds', 'double precision')
        .addColumn('gpu_devices', 'text')
        .addColumn('instance_type', 'text')
        .addColumn('instance_seconds', 'double precision')
        .addColumn('predictions', 'bigint')
        .addColumn('notes', 'text')
        .addColumn('recorded_at', 'bigint', (c) => c.notNull())
        .addColumn('recorded_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('cost_usage_time').on('cost_usage').columns(['started_at']).execute();
      await db.schema.createIndex('cost_usage_run').on('cost_usage').columns(['run_id']).execute();
      await db.schema
        .createIndex('cost_usage_deployment')
        .on('cost_usage')
        .columns(['deployment_id', 'started_at'])
        .execute();
      await db.schema
        .createTable('cost_price_books')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('cost_price_books').execute();
      await db.schema.dropTable('cost_usage').execute();
    },
  };
}
