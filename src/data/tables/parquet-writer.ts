import type { DuckDBConnection, DuckDBType } from '@duckdb/node-api';
import { assertNever } from '../../core/errors.js';
import { lazyRequire } from '../../core/lazy-require.js';
import { ident, lit, withConnection } from './duckdb-engine.js';

const duckdb = lazyRequire<typeof import('@duckdb/node-api')>('@duckdb/node-api');

/** A column of a table written from JSON lines, with its DuckDB type (VARCHAR, INTEGER, DOUBLE, JSON, TIMESTAMPTZ, ...). */
export interface JsonlColumn {
  name: string;
  type: string;
}

/**
 * Writes a newline-delimited JSON file as Parquet with exactly these columns (absent keys are null).
 * DuckDB streams from one file to the other, so memory stays bounded however large the file; an
 * empty input gives a Parquet file with the columns and no rows.
 */
export async function convertJsonlToParquet(
  jsonlPath: string,
  parquetPath: string,
  columns: readonly JsonlColumn[],
  /** Rows per Parquet row group (DuckDB's default when undefined); smaller groups let a filtered read skip more by their statistics. */
  rowGroupSize?: number,
): Promise<void> {
  const struct = columns.map((c) => `${lit(c.name)}: ${lit(c.type)}`).join(', ');
  await withConnection((c) =>
    c.run(
      `COPY (SELECT * FROM read_json(${lit(jsonlPath)}, format = 'newline_delimited', columns = {${struct}})) TO ${lit(parquetPath)} (FORMAT parquet${rowGroupSize === undefined ? '' : `, ROW_GROUP_SIZE ${Math.max(1, Math.floor(rowGroupSize))}`})`,
    ),
  );
}

/** The column types `writeParquetRows` appends (what a JSON value or a logged cell can be). */
export type ParquetRowType = 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN';

export interface ParquetRowColumn {
  name: string;
  type: ParquetRowType;
}

/** A cell of `writeParquetRows`: null, or a value of its column's type (an integer for INTEGER and BIGINT). */
export type ParquetCell = string | number | boolean | null;

/**
 * Writes the cells of DOUBLE column `column` for rows [from, from + n) into `out` at once (bulk
 * copies from where the caller holds them), each a finite number and -0 written as 0; false leaves
 * `out` to be filled cell by cell through cellAt instead.
 */
export type DoubleColumnFill = (column: number, from: number, n: number, out: Float64Array) => boolean;

/**
 * The buffer a DOUBLE vector's `flush` copies into DuckDB (node-api keeps it in a field its typings
 * mark private); undefined for another vector, or should a later node-api keep it elsewhere (the
 * cells then go through setItem, as every other column's do).
 */
function bufferOf(vector: unknown): Float64Array | undefined {
  if (!(vector instanceof duckdb().DuckDBDoubleVector)) return undefined;
  const items = (vector as unknown as { items?: unknown }).items;
  return items instanceof Float64Array ? items : undefined;
}

/** DuckDB's vector size: the most rows a data chunk holds. */
const CHUNK_ROWS = 2048;

/** Cells a vector takes in another form: BIGINT as a bigint (INTEGER refuses a fraction, as the row appender did). */
const TO_VECTOR: Partial<Record<ParquetRowType, (v: ParquetCell) => number | bigint>> = {
  BIGINT: (v) => BigInt(v as number),
};

/**
 * The JavaScript type a cell of each column must have: a vector's typed-array store would turn a
 * wrong one into NaN, 0 or true without a word (the row appender refused it).
 */
const CELL_TYPE: Record<ParquetRowType, 'string' | 'number' | 'boolean'> = {
  VARCHAR: 'string',
  INTEGER: 'number',
  BIGINT: 'number',
  DOUBLE: 'number',
  BOOLEAN: 'boolean',
};

type DuckDBApi = typeof import('@duckdb/node-api');
const duckdbType = (api: DuckDBApi, t: ParquetRowType): DuckDBType => {
  switch (t) {
    case 'VARCHAR':
      return api.VARCHAR;
    case 'INTEGER':
      return api.INTEGER;
    case 'BIGINT':
      return api.BIGINT;
    case 'DOUBLE':
      return api.DOUBLE;
    case 'BOOLEAN':
      return api.BOOLEAN;
    default:
      return assertNever(t);
  }
};

const wrongCell = (col: ParquetRowColumn, row: number, v: unknown): Error =>
  new Error(
    `writing Parquet: row ${row}'s cell of column ${JSON.stringify(col.name)} (${col.type}) is a ${typeof v} (${String(v).slice(0, 40)}), not a ${CELL_TYPE[col.type]}`,
  );

/** A lone surrogate: text with no UTF-8 form. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The cell every row of column k holds, where it can be written in SQL as a constant of the column's
 * type: null, a string that reads back as itself, an integer or a boolean (not a DOUBLE: a decimal
 * literal need not read back as the same double). Undefined for none (or no rows).
 */
function constantOf(
  col: ParquetRowColumn,
  k: number,
  rowCount: number,
  cellAt: (row: number, column: number) => ParquetCell,
): ParquetCell | undefined {
  if (rowCount === 0 || col.type === 'DOUBLE') return undefined;
  const first = cellAt(0, k);
  if (first !== null) {
    if (typeof first !== CELL_TYPE[col.type]) return undefined;
    // Not a string DuckDB's SQL text would not carry as itself: a NUL ends it, a lone surrogate has no UTF-8.
    if (typeof first === 'string' && (first.includes('\u0000') || LONE_SURROGATE.test(first)))
      return undefined;
    if (typeof first === 'number' && !Number.isSafeInteger(first)) return undefined;
  }
  for (let r = 1; r < rowCount; r++) if (cellAt(r, k) !== first) return undefined;
  return first;
}

/**
 * Runs a statement's work on the calling thread: DuckDB's pending-result tasks, one after another,
 * where `run` would hand the statement to libuv's thread pool (shared with the process's file I/O,
 * and at whatever priority that thread has). With one DuckDB thread every task runs here.
 */
async function runOnThisThread(c: DuckDBConnection, sql: string): Promise<void> {
  const api = duckdb();
  const pending = await c.start(sql);
  for (;;) {
    const state = pending.runTask();
    if (state === api.DuckDBPendingResultState.RESULT_READY) break;
    // Nothing runnable here yet (a task waits on another thread): let that one go on.
    if (state === api.DuckDBPendingResultState.NO_TASKS_AVAILABLE)
      await new Promise((resolve) => setImmediate(resolve));
  }
  await pending.getResult();
}

/**
 * Writes rows held in memory as a Parquet file, in the given order, through DuckDB's appender: no
 * text format in between (serialising each row to JSON and having DuckDB parse it back cost several
 * times the CPU of the Parquet file itself). `cellAt(row, column)` gives each cell.
 *
 * Rows are appended a data chunk (DuckDB's vector size, 2,048 rows) at a time: numbers, booleans and
 * nulls are set in the chunk's buffers from JavaScript and copied over once per column, so only
 * strings cross into DuckDB one by one (a call per cell through the row appender cost as much CPU as
 * the Parquet file). A DOUBLE column the caller holds in typed arrays comes in bulk (`fillDoubles`).
 *
 * A column whose every cell is the same null, string, integer or boolean (a logged batch's deployment,
 * model and version, a column of nulls) is not appended at all: the COPY selects it as a constant,
 * the same value in every row, typed as the column (DuckDB writes the same file). Appending such a
 * column cost as much as a varying one (a call into DuckDB per string cell).
 *
 * A private in-memory DuckDB with one thread: its rows are written in insertion order (the shared
 * instance lets DuckDB reorder), and the whole write, the COPY included, runs on the calling thread
 * (runOnThisThread): call it from a worker thread, whose priority then governs all of it (the
 * prediction log's seal thread runs at background priority).
 */
export async function writeParquetRows(
  parquetPath: string,
  columns: readonly ParquetRowColumn[],
  rowCount: number,
  cellAt: (row: number, column: number) => ParquetCell,
  /** Rows per Parquet row group (DuckDB's default when undefined). */
  rowGroupSize?: number,
  fillDoubles?: DoubleColumnFill,
): Promise<void> {
  const api = duckdb();
  const db = await api.DuckDBInstance.create(':memory:', {
    threads: '1',
    preserve_insertion_order: 'true',
  });
  const c = await db.connect();
  try {
    const constants: (ParquetCell | undefined)[] = columns.map((col, k) =>
      constantOf(col, k, rowCount, cellAt),
    );
    // A table needs a column: with every column constant, the first is appended all the same.
    if (!constants.includes(undefined)) constants[0] = undefined;
    const appended = columns.flatMap((col, k) => (constants[k] === undefined ? [{ col, k }] : []));
    await c.run(
      `CREATE TABLE rows_out (${appended.map(({ col }) => `${ident(col.name)} ${col.type}`).join(', ')})`,
    );
    const appender = await c.createAppender('rows_out');
    const types = appended.map(({ col }) => duckdbType(api, col.type));
    try {
      for (let from = 0; from < rowCount; from += CHUNK_ROWS) {
        const n = Math.min(CHUNK_ROWS, rowCount - from);
        const chunk = api.DuckDBDataChunk.create(types, n);
        for (const [a, { col, k }] of appended.entries()) {
          const vector = chunk.getColumnVector(a);
          const items = fillDoubles && bufferOf(vector);
          if (items && items.length === n && fillDoubles(k, from, n, items)) {
            vector.flush();
            continue;
          }
          const to = TO_VECTOR[col.type];
          const want = CELL_TYPE[col.type];
          for (let i = 0; i < n; i++) {
            const v = cellAt(from + i, k);
            if (v !== null && typeof v !== want) throw wrongCell(col, from + i, v);
            vector.setItem(i, v === null ? null : to ? to(v) : v);
          }
          vector.flush();
        }
        appender.appendDataChunk(chunk);
      }
    } finally {
      appender.closeSync();
    }
    const select = columns
      .map((col, k) => {
        const v = constants[k];
        if (v === undefined) return ident(col.name);
        return `CAST(${v === null ? 'NULL' : typeof v === 'string' ? lit(v) : String(v)} AS ${col.type}) AS ${ident(col.name)}`;
      })
      .join(', ');
    const groups =
      rowGroupSize === undefined ? '' : `, ROW_GROUP_SIZE ${Math.max(1, Math.floor(rowGroupSize))}`;
    await runOnThisThread(
      c,
      `COPY (SELECT ${select} FROM rows_out) TO ${lit(parquetPath)} (FORMAT parquet${groups})`,
    );
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
