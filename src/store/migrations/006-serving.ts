import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Schema of serving: deployments, the prediction log and delayed labels. */
export function servingMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('deployments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('ref', 'text', (c) => c.notNull())
        .addColumn('challenger_ref', 'text')
        .addColumn('challenger_mode', 'text')
        .addColumn('canary_percent', 'integer')
        .addColumn('ledger_mode', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('deployments_name')
        .on('deployments')
        .columns(['name', 'deleted_at'])
        .execute();
      // A name belongs to one live deployment at a time; deleted ones give it up (a lost race fails here).
      await db.schema
        .createIndex('deployments_live_name')
        .on('deployments')
        .column('name')
        .unique()
        .where(sql.ref('deleted_at'), 'is', null)
        .execute();
      // No foreign keys on the log: it is written in bulk on the hot path, and ids come from the runtime.
      await db.schema
        .createTable('predictions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('deployment_id', 'text', (c) => c.notNull())
        .addColumn('model_version_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('alias', 'text')
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('served_at', 'bigint', (c) => c.notNull())
        .addColumn('request_key', 'text')
        .addColumn('inputs', 'text', (c) => c.notNull())
        .addColumn('outputs', 'text', (c) => c.notNull())
        .addColumn('latency_us', 'integer', (c) => c.notNull())
        .addColumn('shadow_version_id', 'text')
        .addColumn('shadow_outputs', 'text')
        .addColumn('shadow_error', 'text')
        .execute();
      await db.schema
        .createIndex('predictions_deployment_time')
        .on('predictions')
        .columns(['deployment_id', 'served_at'])
        .execute();
      await db.schema
        .createIndex('predictions_version_time')
        .on('predictions')
        .columns(['model_version_id', 'served_at'])
        .execute();
      await db.schema.createIndex('predictions_time').on('predictions').columns(['served_at']).execute();
      await db.schema
        .createTable('prediction_labels')
        .addColumn('prediction_id', 'text', (c) => c.primaryKey())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('deployment_id', 'text', (c) => c.notNull())
        .addColumn('model_version_id', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('received_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('prediction_labels_version_time')
        .on('prediction_labels')
        .columns(['model_version_id', 'received_at'])
        .execute();
    },
  };
}
