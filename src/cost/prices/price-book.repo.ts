import type { Executor } from '../../store/index.js';
import type { CostPriceBookTable } from '../../store/schema-cost.js';

export type PriceBookRow = CostPriceBookTable;

/** The newest version, or a given one. */
export function findPriceBook({
  tx,
  version,
}: {
  tx: Executor;
  version?: number;
}): Promise<PriceBookRow | undefined> {
  let q = tx.selectFrom('cost_price_books').selectAll();
  q = version === undefined ? q.orderBy('version', 'desc').limit(1) : q.where('version', '=', version);
  return q.executeTakeFirst();
}

export async function insertPriceBook({ tx, row }: { tx: Executor; row: PriceBookRow }): Promise<void> {
  await tx.insertInto('cost_price_books').values(row).execute();
}

/** Every version, newest first, without documents. */
export function listPriceBooks({ tx }: { tx: Executor }) {
  return tx
    .selectFrom('cost_price_books')
    .select(['version', 'currency', 'created_by', 'created_at'])
    .orderBy('version', 'desc')
    .execute();
}
