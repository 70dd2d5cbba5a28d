import type { Db, Executor } from '../../store/index.js';
import type { PredictionTable } from '../../store/schema-serving.js';
import { type Cell, PREDICTION_COLUMNS, PREDICTION_WIDTH } from './prediction-row.js';

/*
 * Queries of the prediction log and its labels. The ledger writes in bulk, one multi-row INSERT per
 * chunk (PostgreSQL allows 65,535 parameters a statement, SQLite 32,766), all chunks of a group in
 * one transaction; ON CONFLICT DO NOTHING makes a retried group (a commit whose answer was lost)
 * idempotent.
 */

function rowsOf(cells: Cell[], from: number, to: number): PredictionTable[] {
  const rows: PredictionTable[] = [];
  for (let r = from; r < to; r++) {
    const row: Record<string, Cell> = {};
    for (let c = 0; c < PREDICTION_WIDTH; c++)
      row[PREDICTION_COLUMNS[c] as string] = cells[r * PREDICTION_WIDTH + c] ?? null;
    rows.push(row as unknown as PredictionTable);
  }
  return rows;
}

/** Inserts a group of flattened prediction rows in one transaction. */
export async function insertPredictionCells({
  db,
  cells,
  dialect,
}: {
  db: Db;
  cells: Cell[];
  dialect: 'sqlite' | 'postgres';
}): Promise<void> {
  const total = cells.length / PREDICTION_WIDTH;
  const chunk = dialect === 'postgres' ? 4000 : 1000;
  const insert = async (tx: Executor, from: number, to: number) => {
    await tx
      .insertInto('predictions')
      .values(rowsOf(cells, from, to))
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  };
  if (total <= chunk) {
    await insert(db, 0, total);
    return;
  }
  await db.transaction().execute(async (tx) => {
    for (let from = 0; from < total; from += chunk) await insert(tx, from, Math.min(total, from + chunk));
  });
}
