import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Monitoring state that outlives a run (issue 12, M5): concept-drift detector states per (monitor,
 * model version, detector), so consecutive windows are one stream; and the CBPE model fitted for a
 * reference, stored beside it so every run estimates with the same calibration.
 */
export function monitoringStateMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('monitor_detector_states')
        .addColumn('monitor_id', 'text', (c) => c.notNull())
        .addColumn('model_version_id', 'text', (c) => c.notNull())
        .addColumn('detector', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('rows_seen', 'bigint', (c) => c.notNull())
        .addColumn('window_end', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('monitor_detector_states_pk', ['monitor_id', 'model_version_id', 'detector'])
        .execute();
      await db.schema.alterTable('monitor_references').addColumn('cbpe', 'text').execute();
    },
  };
}
