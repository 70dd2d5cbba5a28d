import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * MLflow 3 (issue 18): logged models with their params and tags, the runs that produced or read them,
 * and multipart uploads through the artifact proxy (parts are blobs until the upload completes).
 */
export function loggedModelsMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('logged_models')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('experiment_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('model_type', 'text')
        .addColumn('source_run_id', 'text', (c) => c.references('runs.id'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_message', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('logged_models_experiment')
        .on('logged_models')
        .columns(['experiment_id', 'created_at', 'id'])
        .execute();
      await db.schema
        .createIndex('logged_models_source_run')
        .on('logged_models')
        .column('source_run_id')
        .execute();
      for (const table of ['logged_model_params', 'logged_model_tags']) {
        await db.schema
          .createTable(table)
          .addColumn('model_id', 'text', (c) => c.notNull().references('logged_models.id'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['model_id', 'key'])
          .execute();
      }
      await db.schema
        .createTable('run_model_links')
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id'))
        .addColumn('model_id', 'text', (c) => c.notNull().references('logged_models.id'))
        .addColumn('direction', 'text', (c) => c.notNull())
        .addColumn('step', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_model_links_pk', ['run_id', 'model_id', 'direction'])
        .execute();
      await db.schema.createIndex('run_model_links_model').on('run_model_links').column('model_id').execute();
      await db.schema
        .createTable('multipart_uploads')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id'))
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('num_parts', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('multipart_parts')
        .addColumn('upload_id', 'text', (c) => c.notNull().references('multipart_uploads.id'))
        .addColumn('part_number', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('multipart_parts_pk', ['upload_id', 'part_number'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of [
        'multipart_parts',
        'multipart_uploads',
        'run_model_links',
        'logged_model_tags',
        'logged_model_params',
        'logged_models',
      ]) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
