import { parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { openSqliteConnection } from '../../store/index.js';
import { decodeGroup } from './entry-group.js';
import { type Cell, PREDICTION_COLUMNS, PREDICTION_WIDTH, unpackRows } from './prediction-row.js';

/*
 * The SQLite writer thread of the prediction ledger. It holds its own connection to the database file,
 * so the inserts and the fsync of each commit never block the main event loop; the main thread sends
 * one group at a time and waits for its answer (at most one commit in flight per ledger). A group
 * arrives as the bytes of its binary entries (transferred); the rows' JSON text is built here.
 *
 * WAL + synchronous=FULL: a group is on disk when its COMMIT returns, power loss included.
 * INSERT ... ON CONFLICT DO NOTHING makes a retried group idempotent.
 */

export interface LedgerWorkerData {
  file: string;
}
export type LedgerWorkerRequest = { seq: number; group: Uint8Array } | { seq: number; close: true };
export type LedgerWorkerReply =
  | { seq: number; ok: true }
  | { seq: number; ok: false; message: string; code?: string };

/** Rows per INSERT statement (16 parameters a row, well under SQLite's 32,766). */
const CHUNK = 64;

const { file } = workerData as LedgerWorkerData;
const sqlite = openSqliteConnection(file);
// wal_autocheckpoint stays at its default (1000 pages): a larger one saved some CPU per row but made
// each checkpoint a stall of 100+ ms inside one commit (durable p99 2-4x worse under load).

const insertSql = (rows: number) => {
  const one = `(${PREDICTION_COLUMNS.map(() => '?').join(', ')})`;
  return `insert into predictions (${PREDICTION_COLUMNS.join(', ')}) values ${Array(rows).fill(one).join(', ')} on conflict (id) do nothing`;
};
/*
 * One prepared multi-row statement per row count (1..CHUNK), prepared on first use (so a worker
 * started before the schema exists fails a write, not its start) and reused across groups; the
 * parameters of each block are bound from one reused array per row count.
 */
const statements = new Map<number, { stmt: BetterSqlite3.Statement; params: Cell[] }>();
const statement = (rows: number) => {
  let s = statements.get(rows);
  if (!s) {
    s = { stmt: sqlite.prepare(insertSql(rows)), params: new Array<Cell>(rows * PREDICTION_WIDTH) };
    statements.set(rows, s);
  }
  return s;
};
const block = new Array<Cell>(CHUNK * PREDICTION_WIDTH);

const writeGroup = sqlite.transaction((group: Uint8Array) => {
  unpackRows(decodeGroup(group), block, CHUNK, (rows) => {
    if (rows === CHUNK) {
      statement(CHUNK).stmt.run(block);
      return;
    }
    const { stmt, params } = statement(rows);
    for (let i = 0; i < params.length; i++) params[i] = block[i] as Cell;
    stmt.run(params);
  });
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
    writeGroup.immediate(msg.group);
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
