import { type Db, inTransaction, type Tx } from './database.js';

/**
 * Runs `step` (which deletes up to `limit` rows and says how many) in short transactions until one
 * deletes fewer than `limit`; returns the total. Short transactions let writers through while a
 * backlog of old rows goes (retention passes).
 */
export async function deleteInBatches(
  db: Db,
  step: (tx: Tx, limit: number) => Promise<number>,
  limit = 500,
): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await inTransaction(db, (tx) => step(tx, limit));
    total += n;
    if (n < limit) return total;
  }
}
