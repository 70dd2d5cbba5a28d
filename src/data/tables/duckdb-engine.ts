import { stat } from 'node:fs/promises';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { lazyRequire } from '../../core/lazy-require.js';
import { nullTokensOf, sniffDelimiter } from './csv-dialect.js';
import { locateCsvProblem } from './csv-problem.js';
import type { TableFormat } from './table.schema.js';

const duckdb = lazyRequire<typeof import('@duckdb/node-api')>('@duckdb/node-api');

// One in-memory DuckDB per process: it owns a thread pool and a buffer manager, and every query
// streams from the file, so sharing it keeps memory bounded however many tables are profiled.
let instance: Promise<DuckDBInstance> | undefined;

function duck(): Promise<DuckDBInstance> {
  instance ??= duckdb().DuckDBInstance.create(':memory:', {
    // Nothing needs row order across threads; letting DuckDB drop it lowers peak memory on big files.
    preserve_insertion_order: 'false',
  });
  return instance;
}

/** Runs `fn` on a fresh connection of the shared instance and closes it afterwards. */
export async function withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const connection = await (await duck()).connect();
  try {
    return await fn(connection);
  } finally {
    connection.closeSync();
  }
}

/**
 * A connection of the shared instance held across awaits (a reader that streams a result out page by
 * page); the caller closes it (`closeSync`) in a finally.
 */
export async function openConnection(): Promise<DuckDBConnection> {
  return (await duck()).connect();
}

/**
 * Runs `fn` on a throw-away DuckDB that may read only `file`: external access is switched off and the
 * configuration locked before `fn` runs, so SQL written by users (quality suites) can neither read
 * other files, nor write any, nor undo the lock. Costs a few milliseconds per call.
 */
export async function withSandboxedConnection<T>(
  file: string,
  fn: (c: DuckDBConnection) => Promise<T>,
): Promise<T> {
  const sandbox = await duckdb().DuckDBInstance.create(':memory:', { preserve_insertion_order: 'false' });
  const connection = await sandbox.connect();
  try {
    await connection.run(`SET allowed_paths = [${lit(file)}]`);
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');
    return await fn(connection);
  } finally {
    connection.closeSync();
    sandbox.closeSync();
  }
}

/** SQL string literal. */
export function lit(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** SQL identifier. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The FROM expression reading a table file. CSV is read as RFC 4180 (double quote) with a header, the
 * delimiter its header line shows (csv-dialect.ts) and the version's null tokens (the usual ones unless
 * it recorded its own: `nullValues`, which every reader of a version must pass); `fullSniff` makes DuckDB
 * look at every row before choosing column types, which turns a late "abc" in a numeric-looking
 * column into a string column instead of an error.
 */
export async function tableSource(
  path: string,
  format: TableFormat,
  fullSniff = false,
  nullValues?: readonly string[],
): Promise<string> {
  switch (format) {
    case 'csv': {
      const delim = await sniffDelimiter(path);
      const nulls = nullTokensOf(nullValues).map(lit).join(', ');
      return `read_csv(${lit(path)}, header = true, skip = 0, delim = ${lit(delim)}, quote = '"', escape = '"', nullstr = [${nulls}]${fullSniff ? ', sample_size = -1' : ''})`;
    }
    case 'parquet':
      return `read_parquet(${lit(path)})`;
    case 'jsonl':
      return `read_json(${lit(path)}, format = 'newline_delimited')`;
  }
}

/** Fails with NotFoundError when the file is missing, before DuckDB says it in its own words. */
export async function assertReadable(path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new ValidationError(`'${path}' is not a file`, { field: 'path' });
    // DuckDB reads a zero-byte CSV as one empty column; a table needs at least its header.
    if (s.size === 0)
      throw new ValidationError(`'${path}' is empty: a table needs at least a header`, { field: 'path' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('file', path);
    throw err;
  }
}

/** True for the CSV type-guess failure that a full sniff fixes. */
export function isConversionError(err: unknown): boolean {
  return err instanceof Error && /^Conversion Error: CSV Error on Line/.test(err.message);
}

/**
 * Turns DuckDB's reading errors into a ValidationError naming the file and, for CSV, the line.
 * Sniffer failures carry no line, so the head of the file is scanned to find it.
 */
export async function translateReadError(err: unknown, path: string, format: TableFormat): Promise<never> {
  if (!(err instanceof Error)) throw err;
  const msg = err.message;
  const line = /CSV Error on Line: (\d+)/.exec(msg)?.[1];
  if (line !== undefined) {
    const reason = csvReason(msg);
    throw new ValidationError(`malformed CSV '${path}' at line ${line}: ${reason}`, {
      field: 'file',
      file: path,
      line: Number(line),
    });
  }
  if (format === 'csv' && /sniffing file|Binder Error|Invalid Input Error/.test(msg)) {
    const problem = await locateCsvProblem(path);
    if (problem) {
      throw new ValidationError(`malformed CSV '${path}' at line ${problem.line}: ${problem.reason}`, {
        field: 'file',
        file: path,
        line: problem.line,
      });
    }
    throw new ValidationError(`malformed CSV '${path}': ${firstLine(msg)}`, { field: 'file', file: path });
  }
  if (
    /^(IO|Invalid Input|Conversion|Parser|Invalid) Error/.test(msg) ||
    /Error/.test(msg.split(':')[0] ?? '')
  ) {
    throw new ValidationError(`cannot read ${format} file '${path}': ${firstLine(msg)}`, {
      field: 'file',
      file: path,
    });
  }
  throw err;
}

function firstLine(msg: string): string {
  return (msg.split('\n')[0] ?? msg).slice(0, 300);
}

// DuckDB's message is "CSV Error on Line: N\nOriginal Line: ...\n<reason>\n..."; the original line may
// span many lines after an unterminated quote, so the reason is looked for by its known shapes.
function csvReason(msg: string): string {
  const known = [
    /Expected Number of Columns: \d+ Found: \d+/,
    /Value with unterminated quote found\./,
    /Error when converting column "[^"]*"\. [^\n]*/,
    /Invalid unicode[^\n]*/i,
  ];
  for (const re of known) {
    const m = re.exec(msg);
    if (m) return m[0];
  }
  return firstLine(msg.replace(/^[^:]*: /, ''));
}
