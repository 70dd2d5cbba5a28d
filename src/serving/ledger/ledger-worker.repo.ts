import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { type Cell, PREDICTION_COLUMNS, PREDICTION_WIDTH } from './prediction-row.js';

/*
 * The SQLite writer thread of the prediction ledger. It holds its own connection to the database file,
 * so the inserts and the fsync of each commit never block the main event loop; the main thread sends
 * one group at a time and waits for its answer (at most one commit in flight per ledger).
 *
 * WAL + synchronous=FULL: a group is on disk when its COMMIT returns, power loss included.
 * INSERT ... ON CONFLICT DO NOTHING makes a retried group idempotent.
 */

export interface LedgerWorkerData {
  file: string;
}
export type LedgerWorkerRequest = { seq: number; cells: Cell[] } | { seq: number; close: true };
export type LedgerWorkerReply =
  | { seq: number; ok: true }
  | { seq: number; ok: false; message: string; code?: string };

const CHUNK = 64;

const { file } = workerData as LedgerWorkerData;
const sqlite = new BetterSqlite3(file);
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = FULL');
sqlite.pragma('busy_timeout = 10000');

const insertSql = (rows: number) => {
  const one = `(${PREDICTION_COLUMNS.map(() => '?').join(', ')})`;
  return `insert into predictions (${PREDICTION_COLUMNS.join(', ')}) values ${Array(rows).fill(one).join(', ')} on conflict (id) do nothing`;
};
// Prepared on first use, so a worker started before the schema exists fails a write, not its start.
let statements: { chunk: BetterSqlite3.Statement; one: BetterSqlite3.Statement } | undefined;
const prepared = () => {
  statements ??= { chunk: sqlite.prepare(insertSql(CHUNK)), one: sqlite.prepare(insertSql(1)) };
  return statements;
};

const writeGroup = sqlite.transaction((cells: Cell[]) => {
  const { chunk, one } = prepared();
  const rows = cells.length / PREDICTION_WIDTH;
  let row = 0;
  for (; row + CHUNK <= rows; row += CHUNK)
    chunk.run(cells.slice(row * PREDICTION_WIDTH, (row + CHUNK) * PREDICTION_WIDTH));
  for (; row < rows; row++) one.run(cells.slice(row * PREDICTION_WIDTH, (row + 1) * PREDICTION_WIDTH));
});

parentPort?.on('message', (msg: LedgerWorkerRequest) => {
  if ('close' in msg) {
    sqlite.close();
    parentPort?.postMessage({ seq: msg.seq, ok: true } satisfies LedgerWorkerReply);
    parentPort?.close();
    return;
  }
  let reply: LedgerWorkerReply;
  try {
    // IMMEDIATE: take the write lock up front (waits on busy_timeout instead of failing mid-way).
    writeGroup.immediate(msg.cells);
    reply = { seq: msg.seq, ok: true };
  } catch (err) {
    const e = err as { message?: string; code?: string };
    reply = {
      seq: msg.seq,
      ok: false,
      message: String(e.message ?? err),
      ...(e.code ? { code: e.code } : {}),
    };
  }
  parentPort?.postMessage(reply);
});
