import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Sweep trials as jobs (issue 11): the median-stopping board moves from a SharedArrayBuffer in one
 * process to the database, so trials running in different workers prune against each other. One row
 * per (sweep, trial, iteration) holds the trial's best-so-far score; `final` marks a trial's last row.
 */
export function sweepBoardMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('sweep_curves')
        .addColumn('sweep_id', 'text', (c) => c.notNull())
        .addColumn('trial', 'integer', (c) => c.notNull())
        .addColumn('iteration', 'integer', (c) => c.notNull())
        // NULL is a score that is not a number (AUC of a one-class validation set).
        .addColumn('best', 'double precision')
        .addColumn('final', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('sweep_curves_pk', ['sweep_id', 'trial', 'iteration'])
        .execute();
      // The rule's question: every other trial's row at iteration i, or its final row before i.
      await db.schema
        .createIndex('sweep_curves_iteration')
        .on('sweep_curves')
        .columns(['sweep_id', 'iteration'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('sweep_curves').execute();
    },
  };
}
