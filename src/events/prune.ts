import type { Db } from '../store/index.js';
import { inTransaction } from '../store/index.js';
import * as repo from './event.repo.js';

const PRUNE_BATCH = 500;

/**
 * Deletes every event created before `before` that no subscriber still has to act on, with its
 * deliveries; returns how many. Pending deliveries keep their event whatever its age.
 */
export async function pruneSettledEvents(db: Db, before: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await inTransaction(db, (tx) => repo.deleteSettledBefore({ tx, before, limit: PRUNE_BATCH }));
    total += n;
    if (n < PRUNE_BATCH) return total;
  }
}
