import { extname } from 'node:path';
import { ValidationError } from '../../core/errors.js';
import { columnTypeOf, valueSql } from './column-types.js';
import {
  assertReadable,
  isConversionError,
  tableSource,
  translateReadError,
  withConnection,
} from './duckdb-engine.js';
import type { Scalar, Table, TableFormat } from './table.schema.js';
import { describe } from './table-profiler.js';

/** The table format of a path by its extension, or undefined when it is not a table Sextant reads. */
export function detectTableFormat(path: string): TableFormat | undefined {
  const name = path.toLowerCase().replace(/\.(gz|zst)$/, '');
  switch (extname(name)) {
    case '.csv':
      return 'csv';
    case '.parquet':
    case '.pq':
      return 'parquet';
    case '.jsonl':
    case '.ndjson':
      return 'jsonl';
    default:
      return undefined;
  }
}

export interface ReadOptions {
  /** Only these columns, in this order; a name the table lacks is a ValidationError. */
  columns?: string[];
  /** CSV: the version's recorded null tokens (its table schema's `nullValues`); unset: the usual ones. */
  nullValues?: readonly string[] | undefined;
}

/**
 * Reads a whole table into memory, column by column (numbers for integer/float, ISO strings for
 * timestamps and dates). For training-sized tables; use profileTableFile for anything large.
 */
export async function readTableFile(
  path: string,
  format: TableFormat,
  opts: ReadOptions = {},
): Promise<Table> {
  await assertReadable(path);
  return withConnection(async (c) => {
    const read = async (fullSniff: boolean): Promise<Table> => {
      const src = await tableSource(path, format, fullSniff, opts.nullValues);
      const all = await describe(c, src);
      const wanted = opts.columns ?? all.map((x) => x.name);
      const cols = wanted.map((name) => {
        const found = all.find((x) => x.name === name);
        if (!found)
          throw new ValidationError(`column '${name}' is not in table '${path}'`, {
            field: 'columns',
            column: name,
          });
        return found;
      });
      if (cols.length === 0) return { rowCount: 0, columns: [] };
      const select = cols.map((col, i) => `${valueSql(col.name, col.duckType)} AS c${i}`).join(', ');
      const reader = await c.runAndReadAll(`SELECT ${select} FROM ${src}`);
      const data = reader.getColumnsJS();
      return {
        rowCount: reader.currentRowCount,
        columns: cols.map((col, i) => ({
          name: col.name,
          type: columnTypeOf(col.duckType),
          values: (data[i] ?? []).map(toScalar),
        })),
      };
    };
    try {
      return await read(false);
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      if (format === 'csv' && isConversionError(err)) {
        try {
          return await read(true);
        } catch (again) {
          return translateReadError(again, path, format);
        }
      }
      return translateReadError(err, path, format);
    }
  });
}

function toScalar(v: unknown): Scalar {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  return String(v);
}
