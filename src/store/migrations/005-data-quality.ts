import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Schema of data quality: stored suites and validation results. */
export function dataQualityMigration(_dialect: Dialect) {
  return {
    async up(_db: Kysely<unknown>): Promise<void> {},
  };
}
