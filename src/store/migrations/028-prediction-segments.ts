import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The columnar prediction log (issue 19, item 1): one small index row per segment of the log, never a
 * row per prediction. A segment is open while its process appends framed groups to a local file, and
 * sealed once it became a Parquet blob. Lookups by prediction id range over [min_id, max_id] (ids are
 * time-sortable ULIDs); scans over [first_at, last_at] and the deployment.
 */
export function predictionSegmentsMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('prediction_segments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('deployment_id', 'text', (c) => c.notNull())
        // JSON array of the model version ids whose predictions the segment holds.
        .addColumn('model_version_ids', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        // The local file of an open segment (absolute path on the host that appends to it).
        .addColumn('path', 'text')
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('row_count', 'integer', (c) => c.notNull())
        .addColumn('first_at', 'bigint')
        .addColumn('last_at', 'bigint')
        .addColumn('min_id', 'text')
        .addColumn('max_id', 'text')
        // sha256 of the sealed Parquet file: its blob key.
        .addColumn('blob_key', 'text')
        .addColumn('bytes', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('sealed_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('prediction_segments_deployment_time')
        .on('prediction_segments')
        .columns(['deployment_id', 'first_at'])
        .execute();
      await db.schema
        .createIndex('prediction_segments_ids')
        .on('prediction_segments')
        .columns(['min_id', 'max_id'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('prediction_segments').execute();
    },
  };
}
