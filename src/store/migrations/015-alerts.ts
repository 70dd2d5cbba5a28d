import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Schema of monitoring alerts: one row per alert, at most one open per rule and series. */
export function alertsMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('monitoring_alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('monitor_id', 'text', (c) => c.notNull())
        .addColumn('deployment_id', 'text', (c) => c.notNull())
        .addColumn('model_version_id', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('feature', 'text')
        .addColumn('slice', 'text')
        .addColumn('series_key', 'text', (c) => c.notNull())
        // Unique while open: NULLs never collide, so resolved alerts of the same series pile up freely.
        .addColumn('open_key', 'text', (c) => c.unique())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('condition', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('value', 'double precision')
        .addColumn('threshold', 'double precision')
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('window_end', 'bigint', (c) => c.notNull())
        .addColumn('fired_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('acknowledged_at', 'bigint')
        .addColumn('acknowledged_by', 'text')
        .addColumn('ack_comment', 'text')
        .addColumn('resolved_at', 'bigint')
        .addColumn('action_outcome', 'text')
        .execute();
      // Lists: a deployment's alerts newest first; cooldown: a series' latest resolved alert.
      await db.schema
        .createIndex('monitoring_alerts_deployment')
        .on('monitoring_alerts')
        .columns(['deployment_id', 'fired_at'])
        .execute();
      await db.schema
        .createIndex('monitoring_alerts_series')
        .on('monitoring_alerts')
        .columns(['series_key', 'resolved_at'])
        .execute();
      await db.schema
        .createIndex('monitoring_alerts_state')
        .on('monitoring_alerts')
        .columns(['state'])
        .execute();
    },
  };
}
