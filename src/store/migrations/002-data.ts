import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Schema of the data domain. */
export function dataMigration(_dialect: Dialect) {
  return {
    async up(_db: Kysely<unknown>): Promise<void> {},
  };
}
