import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Hardening (issue 16): deployments bind to the registered model's id, not its name, so renaming
 * `credit` away and registering a new `credit` cannot hand a deployment (and its traffic) to a model
 * approved under another policy. Existing deployments are bound to the live model of their name now.
 */
export function hardeningMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('deployments').addColumn('model_id', 'text').execute();
      await sql`update deployments set model_id = (
          select rm.id from registered_models rm
          where rm.name = deployments.model and rm.deleted_at is null
        )`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('deployments').dropColumn('model_id').execute();
    },
  };
}
