import type { Db } from '../store/index.js';
import { inTransaction } from '../store/index.js';
import * as repo from './job.repo.js';

/** Rows deleted per transaction: short transactions keep workers' claims flowing while a backlog goes. */
const PRUNE_BATCH = 500;

/** Deletes every finished job (and its attempts) that finished before `before`; returns how many. */
export async function pruneFinishedJobs(db: Db, before: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await inTransaction(db, (tx) => repo.deleteFinishedBefore({ tx, before, limit: PRUNE_BATCH }));
    total += n;
    if (n < PRUNE_BATCH) return total;
  }
}
