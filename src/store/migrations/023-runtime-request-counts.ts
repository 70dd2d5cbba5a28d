import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Each serving process's cumulative predict-request counts on its heartbeat row (issue 15): answered,
 * failed, and the failures by error code (a small JSON object). The Prometheus counters die with the
 * process; these outlive it, and summed over a deployment's rows they count across replicas.
 */
export function runtimeRequestCountsMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('deployment_runtimes')
        .addColumn('requests_ok', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('deployment_runtimes')
        .addColumn('requests_failed', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('deployment_runtimes')
        .addColumn('errors_by_code', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
    },
  };
}
