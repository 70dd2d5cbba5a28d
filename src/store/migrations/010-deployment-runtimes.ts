import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Heartbeats of the processes serving a deployment (`sextant serve`): where each listens, since when,
 * its last beat, and when it stopped cleanly. `deployments ls` reads them to say whether a deployment
 * is running. Rows are small and one per process start; they are history, not state.
 */
export function deploymentRuntimesMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('deployment_runtimes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('deployment_id', 'text', (c) => c.notNull())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('beat_at', 'bigint', (c) => c.notNull())
        .addColumn('stopped_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('deployment_runtimes_deployment')
        .on('deployment_runtimes')
        .columns(['deployment_id', 'beat_at'])
        .execute();
    },
  };
}
