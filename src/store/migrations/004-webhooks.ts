import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Schema of the webhooks domain. */
export function webhooksMigration(_dialect: Dialect) {
  return {
    async up(_db: Kysely<unknown>): Promise<void> {},
  };
}
