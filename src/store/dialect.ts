import {
  type ColumnDefinitionBuilder,
  CompiledQuery,
  type Expression,
  type Kysely,
  PostgresAdapter,
  type RawBuilder,
  type SqlBool,
  sql,
  type Transaction,
} from 'kysely';
import type { Database } from './schema.js';

/** The database or an open transaction (database.ts names it Executor; this file sits below it). */
type Executor = Kysely<Database> | Transaction<Database>;

/*
 * Everything that differs between the two SQL backends, in one object: repositories ask the dialect
 * instead of comparing its name, so a third backend (or a fix to one) is a change in one place.
 */

export type DialectName = 'sqlite' | 'postgres';

/** A column of a bulk insert: its name and its PostgreSQL type (for the unnest arrays). */
export interface BulkColumn {
  name: string;
  pgType: 'text' | 'integer' | 'bigint' | 'double precision';
}

export interface BulkInsert {
  table: string;
  columns: readonly BulkColumn[];
  /** Row-major values: row r, column c is cells[r * columns.length + c]. */
  cells: readonly unknown[];
  /** ON CONFLICT (column) DO NOTHING: makes a retried insert idempotent. */
  ignoreConflictOn?: string;
}

/** A field of a JSON object a query writes: its name (a constant of the code) and its value. */
export type JsonField = readonly [name: string, value: Expression<unknown>];

// SQLite reads this literal as the largest finite double: only ±Infinity compares beyond it.
const DOUBLE_MAX = sql.raw('1.7976931348623157e308');

/** A SELECT that can lock the rows it reads. */
export interface Lockable<Q> {
  forUpdate(): Q;
  skipLocked(): Q;
}

export interface Dialect {
  readonly name: DialectName;
  /** Column type of an auto-increment integer key (migrations). */
  readonly serial: 'serial' | 'integer';
  readonly bigSerial: 'bigserial' | 'integer';
  /** Marks a column the auto-increment primary key (migrations). */
  autoIncrementKey(c: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /**
   * Serialises writers on one lock until the transaction ends: a PostgreSQL advisory lock. SQLite's
   * transactions begin IMMEDIATE and already hold the database's single write lock.
   */
  lockForTransaction(tx: Executor, key: number): Promise<void>;
  /**
   * Locks tables against writers (readers go on) without waiting; false when a writer holds one now.
   * SQLite: the IMMEDIATE transaction already excludes every writer.
   */
  tryShareLockTables(tx: Executor, tables: readonly string[]): Promise<boolean>;
  /**
   * Rows a claiming SELECT reads are locked, and rows other claimers hold are skipped (PostgreSQL's
   * FOR UPDATE SKIP LOCKED). SQLite: the IMMEDIATE transaction already excludes other claimers.
   */
  skipLockedRows<Q extends Lockable<Q>>(query: Q): Q;
  /** A text expression compared and ordered by code point, as SQLite always does. */
  byCodePoint(e: Expression<unknown>): Expression<unknown>;
  /**
   * An aggregate: one JSON object per row of the group, `{"name":value,...}` with the fields in the
   * given order, as the text of a JSON array in code-point order of `orderBy`. A value is written by
   * its SQL type: text as a string (escaped as JSON.stringify escapes it), numbers as numbers (a double
   * reads back as the same double, though not always in its shortest form), null as null.
   */
  jsonObjectsAgg(fields: readonly JsonField[], orderBy: Expression<string>): RawBuilder<string>;
  /** A double as protobuf JSON has it, for jsonObjectsAgg: a number, or the string NaN, Infinity or -Infinity. */
  protobufDouble(value: Expression<number | null>, isNan: Expression<number>): Expression<unknown>;
  /** LIKE with PostgreSQL's semantics: case-sensitive, `\` escapes, `%` and `_` wildcards. */
  like(column: Expression<string>, pattern: string): RawBuilder<SqlBool>;
  /** ILIKE: case-insensitive LIKE (SQLite folds ASCII letters only). */
  ilike(column: Expression<string>, pattern: string): RawBuilder<SqlBool>;
  /** Inserts many rows in as few statements as the backend allows (one transaction is the caller's). */
  insertMany(tx: Executor, insert: BulkInsert): Promise<void>;
}

/** SQLite allows 32,766 parameters a statement. */
const SQLITE_MAX_PARAMS = 32_766;
const insertSqlCache = new Map<string, string>();

function cachedSql(key: string, build: () => string): string {
  let text = insertSqlCache.get(key);
  if (!text) {
    text = build();
    if (insertSqlCache.size > 1000) insertSqlCache.clear();
    insertSqlCache.set(key, text);
  }
  return text;
}

const conflictClause = (column: string | undefined) => (column ? ` on conflict (${column}) do nothing` : '');

/**
 * Rewrites a LIKE pattern as a GLOB pattern. SQLite's LIKE ignores ASCII case (and PRAGMA
 * case_sensitive_like is per connection, so it cannot be relied on); GLOB is case-sensitive and
 * matches whole characters, so it gives LIKE PostgreSQL's semantics. `\` escapes the next
 * character, as it does by default in PostgreSQL; GLOB's own `*`, `?` and `[` become literals.
 */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    let c = pattern[i] ?? '';
    let literal = true;
    if (c === '\\' && i + 1 < pattern.length) c = pattern[++i] ?? '';
    else if (c === '%' || c === '_') literal = false;
    if (!literal) out += c === '%' ? '*' : '?';
    else if (c === '*' || c === '?' || c === '[') out += `[${c}]`;
    else out += c;
  }
  return out;
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  serial: 'integer',
  bigSerial: 'integer',
  autoIncrementKey: (c) => c.primaryKey().autoIncrement(),
  lockForTransaction: async () => {},
  tryShareLockTables: async () => true,
  skipLockedRows: (query) => query,
  byCodePoint: (e) => e,
  // json_object and json_group_array write the JSON in C, from the row: no string per value in between.
  jsonObjectsAgg: (fields, orderBy) =>
    sql<string>`json_group_array(json_object(${sql.join(fields.flatMap(([name, value]) => [sql.lit(name), value]))}) order by ${orderBy})`,
  protobufDouble: (value, isNan) => sql`case
    when ${isNan} = 1 or ${value} is null then 'NaN'
    when ${value} > ${DOUBLE_MAX} then 'Infinity'
    when ${value} < -${DOUBLE_MAX} then '-Infinity'
    else ${value} end`,
  like: (column, pattern) => sql<SqlBool>`${column} glob ${likeToGlob(pattern)}`,
  ilike: (column, pattern) => sql<SqlBool>`lower(${column}) like lower(${pattern}) escape '\\'`,
  async insertMany(tx, { table, columns, cells, ignoreConflictOn }) {
    const width = columns.length;
    const total = cells.length / width;
    const perStatement = Math.floor(SQLITE_MAX_PARAMS / width);
    for (let from = 0; from < total; from += perStatement) {
      const rows = Math.min(perStatement, total - from);
      const text = cachedSql(`sqlite:${table}:${width}:${rows}:${ignoreConflictOn ?? ''}`, () => {
        const one = `(${columns.map(() => '?').join(', ')})`;
        return `insert into ${table} (${columns.map((c) => c.name).join(', ')}) values ${Array(rows)
          .fill(one)
          .join(', ')}${conflictClause(ignoreConflictOn)}`;
      });
      await tx.executeQuery(CompiledQuery.raw(text, cells.slice(from * width, (from + rows) * width)));
    }
  },
};

export const postgresDialect: Dialect = {
  name: 'postgres',
  serial: 'serial',
  bigSerial: 'bigserial',
  autoIncrementKey: (c) => c.primaryKey(),
  lockForTransaction: async (tx, key) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(key)})`.execute(tx);
  },
  tryShareLockTables: async (tx, tables) => {
    try {
      await sql`lock table ${sql.join(tables.map((t) => sql.table(t)))} in share mode nowait`.execute(tx);
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === '55P03') return false; // lock_not_available
      throw err;
    }
  },
  skipLockedRows: (query) => query.forUpdate().skipLocked(),
  // Otherwise PostgreSQL would order text by the database's collation.
  byCodePoint: (e) => sql`${e} collate "C"`,
  // Concatenated rather than json_build_object and json_agg, which write spaces after ':' and ','.
  // to_json writes a float8 in its shortest exact form (extra_float_digits 1, the default since 12).
  jsonObjectsAgg: (fields, orderBy) => {
    const members = fields.map(
      ([name, value], i) =>
        sql`${sql.lit(`${i === 0 ? '{' : ','}${JSON.stringify(name)}:`)} || coalesce(to_json(${value})::text, 'null')`,
    );
    return sql<string>`'[' || string_agg(${sql.join(members, sql` || `)} || '}', ',' order by ${orderBy} collate "C") || ']'`;
  },
  protobufDouble: (value, isNan) => sql`case
    when ${isNan} = 1 or ${value} is null then to_json('NaN'::text)
    when ${value} = 'Infinity'::float8 then to_json('Infinity'::text)
    when ${value} = '-Infinity'::float8 then to_json('-Infinity'::text)
    else to_json(${value}) end`,
  like: (column, pattern) => sql<SqlBool>`${column} like ${pattern}`,
  ilike: (column, pattern) => sql<SqlBool>`${column} ilike ${pattern}`,
  /*
   * One INSERT ... SELECT FROM unnest(<one array per column>): as many parameters as columns, whatever
   * the row count; far less to build, send and plan than a parameter per cell.
   */
  async insertMany(tx, { table, columns, cells, ignoreConflictOn }) {
    const width = columns.length;
    const rows = cells.length / width;
    if (rows === 0) return;
    const arrays = columns.map(() => new Array<unknown>(rows));
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < width; c++) (arrays[c] as unknown[])[r] = cells[r * width + c] ?? null;
    const text = cachedSql(
      `pg:${table}:${columns.map((c) => c.name).join(',')}:${ignoreConflictOn ?? ''}`,
      () => {
        const unnest = columns.map((c, i) => `$${i + 1}::${c.pgType}[]`).join(', ');
        return `insert into ${table} (${columns.map((c) => c.name).join(', ')}) select * from unnest(${unnest})${conflictClause(ignoreConflictOn)}`;
      },
    );
    await tx.executeQuery(CompiledQuery.raw(text, arrays));
  },
};

/** The dialect object of a backend name. */
export function dialectNamed(name: DialectName): Dialect {
  return name === 'postgres' ? postgresDialect : sqliteDialect;
}

/** The dialect a query executor (database or transaction) runs on. */
export function dialectOf(tx: Executor): Dialect {
  return tx.getExecutor().adapter instanceof PostgresAdapter ? postgresDialect : sqliteDialect;
}
