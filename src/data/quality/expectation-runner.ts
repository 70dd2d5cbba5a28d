import type { DuckDBConnection } from '@duckdb/node-api';
import { ValidationError } from '../../core/errors.js';
import {
  assertReadable,
  columnTypeOf,
  describeSource,
  ident,
  isConversionError,
  lit,
  type Scalar,
  type TableFormat,
  tableSource,
  translateReadError,
  valueSql,
  withSandboxedConnection,
} from '../tables/index.js';
import type { Expectation, ExpectationResult, Suite } from './suite.schema.js';
import { columnsOf, durationMs } from './suite-parser.js';

/** Failing rows shown per expectation. */
export const MAX_EXAMPLES = 5;

/**
 * How long one `sql` predicate may run. Predicates are written by editors and run inside the server,
 * so one that scans a cross join or a billion-row range() would hold a core for as long as it likes.
 */
export const SQL_PREDICATE_TIME_LIMIT_MS = 10_000;

export interface SuiteLimits {
  /** Milliseconds one `sql` predicate may run before DuckDB is interrupted (default 10 s). */
  predicateMs: number;
}

interface Ctx {
  c: DuckDBConnection;
  src: string;
  columns: { name: string; duckType: string }[];
  now: number;
  limits: SuiteLimits;
}

/**
 * Runs every expectation of a suite over one table file with DuckDB, streaming (each check is an
 * aggregate over the file; only failing examples come back as rows).
 */
export async function runSuite(
  suite: Suite,
  file: { path: string; format: TableFormat; nullValues?: readonly string[] | undefined },
  now: number,
  limits: SuiteLimits = { predicateMs: SQL_PREDICATE_TIME_LIMIT_MS },
): Promise<ExpectationResult[]> {
  await assertReadable(file.path);
  return withSandboxedConnection(file.path, async (c) => {
    const attempt = async (fullSniff: boolean) => {
      const src = await tableSource(file.path, file.format, fullSniff, file.nullValues);
      const ctx: Ctx = { c, src, columns: await describeSource(c, src), now, limits };
      const out: ExpectationResult[] = [];
      for (const [i, e] of suite.expectations.entries()) out.push(await runOne(ctx, e, i));
      return out;
    };
    try {
      return await attempt(false);
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      if (file.format === 'csv' && isConversionError(err))
        return attempt(true).catch((e) => translateReadError(e, file.path, file.format));
      return translateReadError(err, file.path, file.format);
    }
  });
}

async function scalarOf(ctx: Ctx, sql: string): Promise<unknown> {
  const rows = (await ctx.c.runAndReadAll(sql)).getRowsJS();
  const v = rows[0]?.[0];
  return typeof v === 'bigint' ? Number(v) : v;
}

async function examples(ctx: Ctx, where: string): Promise<Record<string, Scalar>[]> {
  const select = ctx.columns
    .map((col) => `${valueSql(col.name, col.duckType)} AS ${ident(col.name)}`)
    .join(', ');
  const rows = (
    await ctx.c.runAndReadAll(`SELECT ${select} FROM ${ctx.src} WHERE ${where} LIMIT ${MAX_EXAMPLES}`)
  ).getRowObjectsJS();
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, toScalar(v)])));
}

/** Counts the rows matching a violation predicate and fetches a few of them. */
async function violations(
  ctx: Ctx,
  where: string,
): Promise<{ failingRows: number; examples?: Record<string, Scalar>[] }> {
  const failingRows = Number(await scalarOf(ctx, `SELECT count(*) FROM ${ctx.src} WHERE ${where}`));
  return failingRows > 0 ? { failingRows, examples: await examples(ctx, where) } : { failingRows };
}

function toScalar(v: unknown): Scalar {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `between ${min} and ${max}`;
  return min !== undefined ? `>= ${min}` : `<= ${max}`;
}

function inRange(v: number, min: number | undefined, max: number | undefined): boolean {
  return (min === undefined || v >= min) && (max === undefined || v <= max);
}

function outOfRangeSql(expr: string, min: number | undefined, max: number | undefined): string {
  const parts = [];
  if (min !== undefined) parts.push(`${expr} < ${min}`);
  if (max !== undefined) parts.push(`${expr} > ${max}`);
  return `(${parts.join(' OR ')})`;
}

// The suite runs on a sandboxed DuckDB that can read only the table's file (withSandboxedConnection);
// this check only keeps a predicate one expression (no second statement smuggled after a ';').
const NOT_ONE_EXPRESSION = /;/;

async function runOne(ctx: Ctx, e: Expectation, index: number): Promise<ExpectationResult> {
  const base = { index, kind: e.kind, columns: columnsOf(e) };
  const col = (name: string) => ctx.columns.find((x) => x.name === name);
  switch (e.kind) {
    case 'column_exists': {
      const found = col(e.column);
      return {
        ...base,
        expected: `column '${e.column}' exists`,
        passed: !!found,
        observed: found ? 'present' : 'missing',
      };
    }
    case 'column_type': {
      const type = columnTypeOf(col(e.column)?.duckType ?? '');
      return { ...base, expected: `type ${e.type}`, passed: type === e.type, observed: type };
    }
    case 'not_null': {
      const v = await violations(ctx, `${ident(e.column)} IS NULL`);
      return { ...base, expected: 'no nulls', passed: v.failingRows === 0, observed: v.failingRows, ...v };
    }
    case 'null_fraction': {
      const frac = Number(
        await scalarOf(
          ctx,
          `SELECT coalesce(avg(CASE WHEN ${ident(e.column)} IS NULL THEN 1.0 ELSE 0.0 END), 0) FROM ${ctx.src}`,
        ),
      );
      return { ...base, expected: `null fraction <= ${e.max}`, passed: frac <= e.max, observed: frac };
    }
    case 'unique': {
      const key = columnsOf(e).map(ident).join(', ');
      const dup = `SELECT ${key}, count(*) AS n FROM ${ctx.src} GROUP BY ${key} HAVING count(*) > 1`;
      const failingRows = Number((await scalarOf(ctx, `SELECT coalesce(sum(n), 0) FROM (${dup})`)) ?? 0);
      const ex =
        failingRows > 0
          ? await examples(ctx, `(${key}) IN (SELECT (${key}) FROM (${dup}))`).catch(() => undefined)
          : undefined;
      return {
        ...base,
        expected: `unique ${base.columns.length > 1 ? `(${base.columns.join(', ')})` : base.columns[0]}`,
        passed: failingRows === 0,
        observed: failingRows,
        failingRows,
        ...(ex ? { examples: ex } : {}),
      };
    }
    case 'between': {
      const v = await violations(
        ctx,
        `${ident(e.column)} IS NOT NULL AND ${outOfRangeSql(ident(e.column), e.min, e.max)}`,
      );
      return {
        ...base,
        expected: rangeText(e.min, e.max),
        passed: v.failingRows === 0,
        observed: v.failingRows,
        ...v,
      };
    }
    case 'in_set': {
      const numeric =
        ['integer', 'float'].includes(columnTypeOf(col(e.column)?.duckType ?? '')) &&
        e.values.every((x) => typeof x === 'number');
      const list = numeric ? e.values.join(', ') : e.values.map((x) => lit(String(x))).join(', ');
      const expr = numeric ? ident(e.column) : `CAST(${ident(e.column)} AS VARCHAR)`;
      const v = await violations(ctx, `${ident(e.column)} IS NOT NULL AND ${expr} NOT IN (${list})`);
      return {
        ...base,
        expected: `in {${e.values.join(', ')}}`,
        passed: v.failingRows === 0,
        observed: v.failingRows,
        ...v,
      };
    }
    case 'regex': {
      const v = await violations(
        ctx,
        `${ident(e.column)} IS NOT NULL AND NOT regexp_matches(CAST(${ident(e.column)} AS VARCHAR), ${lit(e.pattern)})`,
      );
      return {
        ...base,
        expected: `matches /${e.pattern}/`,
        passed: v.failingRows === 0,
        observed: v.failingRows,
        ...v,
      };
    }
    case 'row_count': {
      const n = Number(await scalarOf(ctx, `SELECT count(*) FROM ${ctx.src}`));
      return {
        ...base,
        expected: `row count ${rangeText(e.min, e.max)}`,
        passed: inRange(n, e.min, e.max),
        observed: n,
      };
    }
    case 'mean_between': {
      const m = (await scalarOf(ctx, `SELECT avg(CAST(${ident(e.column)} AS DOUBLE)) FROM ${ctx.src}`)) as
        | number
        | null;
      return {
        ...base,
        expected: `mean ${rangeText(e.min, e.max)}`,
        passed: m !== null && inRange(m, e.min, e.max),
        observed: m,
      };
    }
    case 'quantile_between': {
      const q = (await scalarOf(
        ctx,
        `SELECT quantile_cont(CAST(${ident(e.column)} AS DOUBLE), ${e.quantile}) FROM ${ctx.src}`,
      )) as number | null;
      return {
        ...base,
        expected: `p${e.quantile * 100} ${rangeText(e.min, e.max)}`,
        passed: q !== null && inRange(q, e.min, e.max),
        observed: q,
      };
    }
    case 'freshness': {
      const latest = (await scalarOf(
        ctx,
        `SELECT epoch_ms(max(CAST(${ident(e.column)} AS TIMESTAMP))) FROM ${ctx.src}`,
      )) as number | null;
      const ageMs = latest === null ? null : ctx.now - latest;
      return {
        ...base,
        expected: `newest value at most ${e.max_age} old`,
        passed: ageMs !== null && ageMs <= durationMs(e.max_age),
        observed:
          latest === null
            ? null
            : { latest: new Date(latest).toISOString(), ageSeconds: Math.round((ageMs as number) / 1000) },
      };
    }
    case 'sql': {
      if (NOT_ONE_EXPRESSION.test(e.predicate)) {
        throw new ValidationError(
          `suite.expectations[${index}].sql.predicate: one SQL expression over the table's columns, without ';'`,
          {
            field: `suite.expectations[${index}].sql.predicate`,
          },
        );
      }
      let v: Awaited<ReturnType<typeof violations>>;
      let interrupted = false;
      // DuckDB runs the query off the event loop, so the timer fires and interrupt() cancels it there.
      const timer = setTimeout(() => {
        interrupted = true;
        ctx.c.interrupt();
      }, ctx.limits.predicateMs);
      try {
        v = await violations(ctx, `NOT (${e.predicate})`);
      } catch (err) {
        if (interrupted)
          throw new ValidationError(
            `suite.expectations[${index}].sql.predicate: ran longer than ${ctx.limits.predicateMs} ms, the limit for one SQL predicate; make it cheaper`,
            { field: `suite.expectations[${index}].sql.predicate`, limitMs: ctx.limits.predicateMs },
          );
        throw new ValidationError(
          `suite.expectations[${index}].sql.predicate: ${(err as Error).message.split('\n')[0]}`,
          {
            field: `suite.expectations[${index}].sql.predicate`,
          },
        );
      } finally {
        clearTimeout(timer);
      }
      return {
        ...base,
        expected: e.name ?? e.predicate,
        passed: v.failingRows === 0,
        observed: v.failingRows,
        ...v,
      };
    }
  }
}
