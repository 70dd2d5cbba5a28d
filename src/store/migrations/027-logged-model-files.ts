import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * MLflow 3 (issue 18, item 1's gaps): the files of a logged model that has no source run (kept under
 * the model itself, content-addressed like a run's artifacts), and the metrics linked to logged models
 * (`log_metric(..., model_id=...)`), with the dataset they were measured on, as MLflow 3 stores them.
 */
export function loggedModelFilesMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('logged_model_artifacts')
        .addColumn('model_id', 'text', (c) => c.notNull().references('logged_models.id'))
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('logged_model_artifacts_pk', ['model_id', 'path'])
        .execute();
      await db.schema
        .createTable('logged_model_metrics')
        .addColumn('model_id', 'text', (c) => c.notNull().references('logged_models.id'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'double precision')
        .addColumn('is_nan', 'integer', (c) => c.notNull())
        .addColumn('timestamp', 'bigint', (c) => c.notNull())
        .addColumn('step', 'bigint', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id'))
        // '' when the metric names no dataset: part of the key, and a key column cannot be NULL.
        .addColumn('dataset_name', 'text', (c) => c.notNull())
        .addColumn('dataset_digest', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('logged_model_metrics_pk', [
          'model_id',
          'key',
          'timestamp',
          'step',
          'run_id',
          'dataset_name',
          'dataset_digest',
        ])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('logged_model_metrics').execute();
      await db.schema.dropTable('logged_model_artifacts').execute();
    },
  };
}
