import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The gateway's failures and overrides (issue 18): `predictions.error` (JSON {code, message}) marks a
 * prediction whose model server failed (its outputs are JSON null); it is written only for failed rows
 * and carries no index (the log's append path stays as it was). `deployments.resilience` (JSON) holds a
 * deployment's override of its external model's timeout, retries and circuit breaker.
 */
export function gatewayFailuresMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('predictions').addColumn('error', 'text').execute();
      await db.schema.alterTable('deployments').addColumn('resilience', 'text').execute();
    },
  };
}
