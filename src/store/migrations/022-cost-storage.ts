import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Cost (issue 14, storage): a usage record may hold bytes of storage (a referrer's even share of the
 * deduplicated blobs it references) and name the dataset version it is attributed to.
 */
export function costStorageMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('cost_usage').addColumn('dataset_version_id', 'text').execute();
      await db.schema.alterTable('cost_usage').addColumn('storage_bytes', 'double precision').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('cost_usage').dropColumn('storage_bytes').execute();
      await db.schema.alterTable('cost_usage').dropColumn('dataset_version_id').execute();
    },
  };
}
