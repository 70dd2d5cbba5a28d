import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Monitoring (issue 12): monitors over deployments, the references each model version is measured
 * against, runs over windows, and the time series of metric points. Points are read by monitor, by
 * deployment and by model version (registry gates), each over a metric and a time range: one index
 * for each of those entries.
 */
export function monitorsMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('monitors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('deployment_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('spec_yaml', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('spec_digest', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('monitors_deployment')
        .on('monitors')
        .columns(['deployment_id', 'name'])
        .execute();
      await db.schema
        .createTable('monitor_references')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('monitor_id', 'text', (c) => c.notNull())
        .addColumn('monitor_version', 'integer', (c) => c.notNull())
        .addColumn('model_version_id', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('source_ref', 'text', (c) => c.notNull())
        .addColumn('row_count', 'integer', (c) => c.notNull())
        .addColumn('profiles', 'text', (c) => c.notNull())
        .addColumn('sample', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('monitor_references_one', ['monitor_id', 'monitor_version', 'model_version_id'])
        .execute();
      await db.schema
        .createTable('monitor_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('monitor_id', 'text', (c) => c.notNull())
        .addColumn('deployment_id', 'text', (c) => c.notNull())
        .addColumn('monitor_version', 'integer', (c) => c.notNull())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('window_end', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('rows', 'integer', (c) => c.notNull())
        .addColumn('points', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('monitor_runs_monitor')
        .on('monitor_runs')
        .columns(['monitor_id', 'window_end'])
        .execute();
      await db.schema
        .createTable('metric_points')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('monitor_id', 'text', (c) => c.notNull())
        .addColumn('deployment_id', 'text', (c) => c.notNull())
        .addColumn('model_version_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('model_version', 'integer', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('feature', 'text')
        .addColumn('slice', 'text')
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('window_end', 'bigint', (c) => c.notNull())
        .addColumn('value', 'double precision')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('metric_points_monitor')
        .on('metric_points')
        .columns(['monitor_id', 'metric', 'window_start'])
        .execute();
      await db.schema
        .createIndex('metric_points_deployment')
        .on('metric_points')
        .columns(['deployment_id', 'metric', 'window_start'])
        .execute();
      await db.schema
        .createIndex('metric_points_version')
        .on('metric_points')
        .columns(['model', 'model_version', 'metric', 'window_end'])
        .execute();
      await db.schema.createIndex('metric_points_run').on('metric_points').column('run_id').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const t of ['metric_points', 'monitor_runs', 'monitor_references', 'monitors'])
        await db.schema.dropTable(t).execute();
    },
  };
}
