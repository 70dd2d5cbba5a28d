import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Schema of data quality: stored suites and validation results. */
export function dataQualityMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('data_quality_suites')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull().unique())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('data_quality_results')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('version_id', 'text', (c) => c.notNull().references('dataset_versions.id'))
        .addColumn('table_path', 'text', (c) => c.notNull())
        .addColumn('suite_id', 'text', (c) => c.notNull().references('data_quality_suites.id'))
        .addColumn('suite_name', 'text', (c) => c.notNull())
        .addColumn('passed', 'integer', (c) => c.notNull())
        .addColumn('total', 'integer', (c) => c.notNull())
        .addColumn('failed', 'integer', (c) => c.notNull())
        .addColumn('results', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('data_quality_results_version')
        .on('data_quality_results')
        .columns(['version_id', 'suite_name', 'created_at'])
        .execute();
    },
  };
}
