import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Hardening (issue 16): how each API token was minted, so that tokens handed out while auth was off
 * stop working once it is on; and checkpoints chained to the one before, so that deleting a
 * checkpoint row breaks the chain of signatures.
 */
export function tokenOriginAndCheckpointChainMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // Tokens from before this migration cannot say how they were minted: 'legacy' (see docs/security.md).
      await db.schema
        .alterTable('api_tokens')
        .addColumn('minted_under', 'text', (c) => c.notNull().defaultTo('legacy'))
        .execute();
      await db.schema.alterTable('audit_checkpoints').addColumn('prev_seq', 'bigint').execute();
      await db.schema.alterTable('audit_checkpoints').addColumn('prev_signature', 'text').execute();
    },
  };
}
