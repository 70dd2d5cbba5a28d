import type { DuckDBAppender } from '@duckdb/node-api';
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

type AppendCell = (a: DuckDBAppender, v: ParquetCell) => void;
const APPEND: Record<ParquetRowType, AppendCell> = {
  VARCHAR: (a, v) => a.appendVarchar(v as string),
  INTEGER: (a, v) => a.appendInteger(v as number),
  BIGINT: (a, v) => a.appendBigInt(BigInt(v as number)),
  DOUBLE: (a, v) => a.appendDouble(v as number),
  BOOLEAN: (a, v) => a.appendBoolean(v as boolean),
};

/**
 * Writes rows held in memory as a Parquet file, in the given order, through DuckDB's appender: no
 * text format in between (serialising each row to JSON and having DuckDB parse it back cost several
 * times the CPU of the Parquet file itself). `cellAt(row, column)` gives each cell.
 *
 * A private in-memory DuckDB with one thread: its rows are written in insertion order (the shared
 * instance lets DuckDB reorder), and a write started off the event loop (a worker thread) takes at
 * most one more core from a server.
 */
export async function writeParquetRows(
  parquetPath: string,
  columns: readonly ParquetRowColumn[],
  rowCount: number,
  cellAt: (row: number, column: number) => ParquetCell,
  /** Rows per Parquet row group (DuckDB's default when undefined). */
  rowGroupSize?: number,
): Promise<void> {
  const db = await duckdb().DuckDBInstance.create(':memory:', {
    threads: '1',
    preserve_insertion_order: 'true',
  });
  const c = await db.connect();
  try {
    await c.run(
      `CREATE TABLE rows_out (${columns.map((col) => `${ident(col.name)} ${col.type}`).join(', ')})`,
    );
    const appender = await c.createAppender('rows_out');
    const append = columns.map((col) => APPEND[col.type]);
    try {
      for (let r = 0; r < rowCount; r++) {
        for (let k = 0; k < append.length; k++) {
          const v = cellAt(r, k);
          if (v === null) appender.appendNull();
          else (append[k] as AppendCell)(appender, v);
        }
        appender.endRow();
      }
    } finally {
      appender.closeSync();
    }
    const groups =
      rowGroupSize === undefined ? '' : `, ROW_GROUP_SIZE ${Math.max(1, Math.floor(rowGroupSize))}`;
    await c.run(`COPY rows_out TO ${lit(parquetPath)} (FORMAT parquet${groups})`);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
