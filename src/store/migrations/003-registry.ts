import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Schema of the registry domain. */
export function registryMigration(_dialect: Dialect) {
  return {
    async up(_db: Kysely<unknown>): Promise<void> {},
  };
}
