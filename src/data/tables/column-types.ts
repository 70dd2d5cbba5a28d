import { ident } from './duckdb-engine.js';
import type { ColumnType } from './table.schema.js';

/** Folds a DuckDB type name onto Sextant's column types; anything exotic is read as its text. */
export function columnTypeOf(duckType: string): ColumnType {
  const t = duckType.toUpperCase();
  if (t === 'BOOLEAN') return 'boolean';
  if (/^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/.test(t)) return 'integer';
  if (t === 'FLOAT' || t === 'DOUBLE' || t.startsWith('DECIMAL')) return 'float';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  return 'string';
}

export function isNumeric(type: ColumnType): boolean {
  return type === 'integer' || type === 'float';
}

/**
 * The SQL expression giving a column's value in the form Sextant hands out: DOUBLE for numbers (JS
 * numbers; integers beyond 2^53 lose precision), ISO-8601 text for timestamps (UTC) and dates, text
 * for anything that is neither number, boolean nor time.
 */
export function valueSql(name: string, duckType: string): string {
  const c = ident(name);
  switch (columnTypeOf(duckType)) {
    case 'integer':
    case 'float':
      return `CAST(${c} AS DOUBLE)`;
    case 'boolean':
      return c;
    case 'date':
      return `CAST(${c} AS VARCHAR)`;
    case 'timestamp':
      return `strftime(CAST(${c} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g') || 'Z'`;
    case 'string':
      return duckType.toUpperCase() === 'VARCHAR' ? c : `CAST(${c} AS VARCHAR)`;
  }
}
