import type { DuckDBConnection } from '@duckdb/node-api';
import { columnTypeOf, isNumeric, valueSql } from './column-types.js';
import { cellKey, locateCells } from './csv-cells.js';
import { delimiterName, nullTokensOf, sniffDelimiter } from './csv-dialect.js';
import {
  assertReadable,
  ident,
  isConversionError,
  lit,
  tableSource,
  translateReadError,
  withConnection,
} from './duckdb-engine.js';
import { encodeRegisters, estimateDistinct, hllSql, registersFromPairs } from './hyperloglog.js';
import { sketchFractionsSql, summaryQuantiles } from './quantile-sketch.js';
import type { ColumnProfile, ProfiledTable, TableFormat } from './table.schema.js';

/** Frequent values kept per column. */
export const TOP_K = 20;
/** Equi-width histogram bins of numeric columns. */
export const HISTOGRAM_BINS = 20;

export interface ProfileOptions {
  /**
   * Called about twice a second while DuckDB scans (rows: an estimate of the rows done; fraction: 0..1
   * of the work), and once at the end with the exact row count and 1.
   */
  onProgress?(rows: number, fraction?: number): void;
  /**
   * CSV: cell texts read as null instead of the usual list (an empty cell is always null); recorded
   * in the returned schema so that every later reader of the table uses the same list.
   */
  nullValues?: readonly string[] | undefined;
}

interface SourceColumn {
  name: string;
  duckType: string;
}

/**
 * Schema and profile of a CSV, Parquet or JSON Lines file. Two streaming scans in DuckDB (moments,
 * t-digest quantiles, HyperLogLog registers, candidate frequent values; then histogram and exact
 * counts of those values), so memory stays bounded whatever the file size and no row reaches JS.
 */
export async function profileTableFile(
  path: string,
  format: TableFormat,
  opts: ProfileOptions = {},
): Promise<ProfiledTable> {
  await assertReadable(path);
  return withConnection(async (c) => {
    try {
      return await profileWith(c, path, format, false, opts);
    } catch (err) {
      // DuckDB guesses CSV types from a sample; a late non-numeric value means the column is text.
      if (format === 'csv' && isConversionError(err)) {
        try {
          return await profileWith(c, path, format, true, opts);
        } catch (again) {
          return translateReadError(again, path, format);
        }
      }
      return translateReadError(err, path, format);
    }
  });
}

async function profileWith(
  c: DuckDBConnection,
  path: string,
  format: TableFormat,
  fullSniff: boolean,
  opts: ProfileOptions,
): Promise<ProfiledTable> {
  const src = await tableSource(path, format, fullSniff, opts.nullValues);
  const columns = await describe(c, src);
  const first = await withProgress(c, opts, 0, () => firstPass(c, src, columns));
  const second = await withProgress(c, opts, 1, () => secondPass(c, src, columns, first.perColumn));
  const rowCount = first.rowCount;
  const profiles = columns.map((col, i) =>
    buildColumn(col, rowCount, first.perColumn[i] as FirstPass, second[i] as SecondPass),
  );
  const notes =
    format === 'csv' ? await readingNotes(c, path, src, columns, opts.nullValues !== undefined) : [];
  opts.onProgress?.(rowCount, 1);
  return {
    rowCount,
    schema: {
      columns: profiles.map((p) => ({ name: p.name, type: p.type, nullable: p.nulls > 0 })),
      ...(opts.nullValues && format === 'csv' ? { nullValues: [...nullTokensOf(opts.nullValues)] } : {}),
    },
    profile: { version: 1, rowCount, columns: profiles, ...(notes.length ? { notes } : {}) },
  };
}

/** A text column is called mostly numeric when at least this share of its values are numbers. */
const MOSTLY_NUMERIC = 0.8;
/** Offending cells named per column. */
const NAMED_CELLS = 5;
/** Line numbers given per offending cell value. */
const LINES_PER_CELL = 3;

/**
 * The delimiter when it is not a comma, and every text column whose values are mostly numbers: it is
 * text because of the cells named, which a model would otherwise one-hot encode value by value.
 */
async function readingNotes(
  c: DuckDBConnection,
  path: string,
  src: string,
  columns: SourceColumn[],
  customNulls: boolean,
): Promise<string[]> {
  const notes: string[] = [];
  const delim = await sniffDelimiter(path);
  if (delim !== ',') notes.push(`detected delimiter ${delimiterName(delim)} (from the header line)`);
  const text = columns.filter((col) => col.duckType.toUpperCase() === 'VARCHAR');
  if (text.length === 0) return notes;
  const counts = (
    await c.runAndReadAll(
      `SELECT ${text.map((col, i) => `count(${ident(col.name)}) AS n${i}, count(TRY_CAST(${ident(col.name)} AS DOUBLE)) AS d${i}`).join(', ')} FROM ${src}`,
    )
  ).getRowObjectsJS()[0];
  const offending: {
    col: SourceColumn;
    index: number;
    present: number;
    numbers: number;
    cells: { value: string; n: number }[];
  }[] = [];
  for (const [i, col] of text.entries()) {
    const present = Number(counts?.[`n${i}`] ?? 0);
    const numbers = Number(counts?.[`d${i}`] ?? 0);
    if (present === 0 || numbers === present || numbers / present < MOSTLY_NUMERIC) continue;
    const name = ident(col.name);
    const cells = (
      await c.runAndReadAll(
        `SELECT ${name} AS v, count(*) AS n FROM ${src} WHERE ${name} IS NOT NULL AND TRY_CAST(${name} AS DOUBLE) IS NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${NAMED_CELLS}`,
      )
    )
      .getRowObjectsJS()
      .map((r) => ({ value: String(r.v), n: Number(r.n) }));
    offending.push({ col, index: columns.indexOf(col), present, numbers, cells });
  }
  if (offending.length === 0) return notes;
  // One pass over the file names the lines of every offending cell (it stops once all are found).
  const lines = await locateCells(
    path,
    delim,
    offending.flatMap((o) => o.cells.map((cell) => ({ column: o.index, value: cell.value }))),
    { perValue: LINES_PER_CELL },
  );
  for (const o of offending) {
    const named = o.cells.map((cell) => {
      const at = lines.get(cellKey(o.index, cell.value)) ?? [];
      const where = at.length
        ? `, line${at.length > 1 ? 's' : ''} ${at.join(', ')}${cell.n > at.length ? ', ...' : ''}`
        : '';
      return `'${cell.value}' (${cell.n}x${where})`;
    });
    notes.push(
      `column '${o.col.name}' is text because of ${o.present - o.numbers} of ${o.present} cells that are not numbers: ${named.join(', ')}; ${customNulls ? 'fix them, or add them to --null-values to read them as null' : 'fix them, or read them as null with --null-values (an empty cell or NA is null by default)'}`,
    );
  }
  return notes;
}

/** The columns of a source and their DuckDB types. */
export async function describe(c: DuckDBConnection, src: string): Promise<SourceColumn[]> {
  const r = await c.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`);
  return r
    .getRowObjectsJS()
    .map((row) => ({ name: String(row.column_name), duckType: String(row.column_type) }));
}

/**
 * A column's value for statistics. Infinities and NaN (which CSV and Parquet can hold) are left out of
 * the numeric statistics, as missing values are: one inf would make the mean and std meaningless, and
 * DuckDB refuses the std outright. They still count as present (not null) in the profile.
 */
function statValueSql(name: string, duckType: string): string {
  const v = valueSql(name, duckType);
  return isNumeric(columnTypeOf(duckType)) ? `(CASE WHEN isfinite(${v}) THEN ${v} END)` : v;
}

interface FirstPass {
  nonNull: number;
  min: unknown;
  max: unknown;
  mean?: number | null;
  std?: number | null;
  varPop?: number | null;
  sketch?: number[] | null;
  candidates: string[];
  hllPairs: (number | bigint)[];
}

async function firstPass(c: DuckDBConnection, src: string, columns: SourceColumn[]) {
  const parts = ['count(*) AS n'];
  columns.forEach((col, i) => {
    const type = columnTypeOf(col.duckType);
    const v = statValueSql(col.name, col.duckType);
    parts.push(`count(${ident(col.name)}) AS c${i}_nn`, `${hllSql(ident(col.name))} AS c${i}_hll`);
    if (type !== 'boolean') parts.push(`min(${v}) AS c${i}_min`, `max(${v}) AS c${i}_max`);
    if (isNumeric(type)) {
      parts.push(
        `avg(${v}) AS c${i}_mean`,
        `stddev_samp(${v}) AS c${i}_std`,
        `var_pop(${v}) AS c${i}_varpop`,
        `approx_quantile(${v}, ${sketchFractionsSql()}) AS c${i}_sketch`,
      );
    }
    // Frequent values of text-like columns; numeric columns get theirs exactly in the second pass,
    // and only when they have few values (top-k of a continuous column is noise, and costly).
    if (type === 'string' || type === 'boolean' || type === 'date') {
      parts.push(`approx_top_k(CAST(${ident(col.name)} AS VARCHAR), ${TOP_K}) AS c${i}_top`);
    }
  });
  const row = (await c.runAndReadAll(`SELECT ${parts.join(', ')} FROM ${src}`)).getRowObjectsJS()[0] ?? {};
  const perColumn: FirstPass[] = columns.map((_, i) => ({
    nonNull: Number(row[`c${i}_nn`] ?? 0),
    min: row[`c${i}_min`],
    max: row[`c${i}_max`],
    mean: row[`c${i}_mean`] as number | null | undefined,
    std: row[`c${i}_std`] as number | null | undefined,
    varPop: row[`c${i}_varpop`] as number | null | undefined,
    sketch: row[`c${i}_sketch`] as number[] | null | undefined,
    candidates: ((row[`c${i}_top`] as unknown[] | null) ?? []).filter((x) => x !== null).map(String),
    hllPairs: (row[`c${i}_hll`] as (number | bigint)[] | null) ?? [],
  }));
  return { rowCount: Number(row.n ?? 0), perColumn };
}

interface SecondPass {
  bins?: Map<number, number>;
  edges?: number[];
  top: Map<string, number>;
}

async function secondPass(
  c: DuckDBConnection,
  src: string,
  columns: SourceColumn[],
  first: FirstPass[],
): Promise<SecondPass[]> {
  const parts: string[] = ['count(*) AS n'];
  const out: SecondPass[] = columns.map(() => ({ top: new Map() }));
  columns.forEach((col, i) => {
    const f = first[i] as FirstPass;
    const type = columnTypeOf(col.duckType);
    const v = statValueSql(col.name, col.duckType);
    const min = Number(f.min);
    const max = Number(f.max);
    if (isNumeric(type) && f.nonNull > 0 && Number.isFinite(min) && Number.isFinite(max)) {
      const bins = max > min ? HISTOGRAM_BINS : 1;
      const width = max > min ? (max - min) / bins : 1;
      (out[i] as SecondPass).edges = Array.from({ length: bins + 1 }, (_, k) =>
        k === bins ? max : min + k * width,
      );
      parts.push(
        `histogram(least(greatest(floor((${v} - ${min}) / ${width}), 0), ${bins - 1})::INTEGER) FILTER (WHERE ${v} IS NOT NULL) AS c${i}_hist`,
      );
    }
    const text = `CAST(${ident(col.name)} AS VARCHAR)`;
    if (isNumeric(type) && f.nonNull > 0 && estimateDistinct(registersFromPairs(f.hllPairs)) <= TOP_K) {
      parts.push(`histogram(${text}) FILTER (WHERE ${ident(col.name)} IS NOT NULL) AS c${i}_top`);
    } else if (f.candidates.length > 0) {
      parts.push(
        `histogram(${text}) FILTER (WHERE ${text} IN (${f.candidates.map(lit).join(', ')})) AS c${i}_top`,
      );
    }
  });
  const row = (await c.runAndReadAll(`SELECT ${parts.join(', ')} FROM ${src}`)).getRowObjectsJS()[0] ?? {};
  columns.forEach((_, i) => {
    const o = out[i] as SecondPass;
    const hist = row[`c${i}_hist`] as { key: unknown; value: unknown }[] | null | undefined;
    if (o.edges && hist) o.bins = new Map(hist.map((e) => [Number(e.key), Number(e.value)]));
    const top = row[`c${i}_top`] as { key: unknown; value: unknown }[] | null | undefined;
    for (const e of top ?? []) o.top.set(String(e.key), Number(e.value));
  });
  return out;
}

function buildColumn(col: SourceColumn, rowCount: number, f: FirstPass, s: SecondPass): ColumnProfile {
  const type = columnTypeOf(col.duckType);
  const hll = registersFromPairs(f.hllPairs);
  const p: ColumnProfile = {
    name: col.name,
    type,
    count: rowCount,
    nulls: rowCount - f.nonNull,
    distinct: f.nonNull === 0 ? 0 : estimateDistinct(hll),
    hll: encodeRegisters(hll),
  };
  if (f.nonNull > 0 && type !== 'boolean') {
    p.min = scalar(f.min);
    p.max = scalar(f.max);
  }
  if (isNumeric(type) && f.nonNull > 0) {
    p.mean = f.mean ?? undefined;
    p.std = f.std ?? 0;
    p.m2 = (f.varPop ?? 0) * f.nonNull;
    if (f.sketch) {
      p.sketch = f.sketch.map(Number);
      p.quantiles = summaryQuantiles(p.sketch);
    }
    if (s.edges && s.bins) {
      const counts = s.edges.slice(1).map((_, k) => s.bins?.get(k) ?? 0);
      p.histogram = { edges: s.edges, counts };
    }
  }
  if (s.top.size > 0) {
    p.topK = [...s.top]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
    p.topKComplete = p.topK.reduce((acc, t) => acc + t.count, 0) === f.nonNull;
  } else if (type === 'string' || type === 'boolean' || type === 'date') {
    p.topK = [];
    p.topKComplete = f.nonNull === 0;
  }
  if (p.distinct > f.nonNull) p.distinct = f.nonNull;
  if (p.topKComplete && p.topK) p.distinct = p.topK.length;
  return p;
}

function scalar(v: unknown): number | string | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  return String(v);
}

/**
 * Runs one of the two scans while reporting progress every 500 ms. DuckDB's counters are per query and
 * its row total an estimate, so progress is reported as the fraction of both scans done and the rows
 * that fraction stands for (monotonic; the exact count comes with the final call).
 */
async function withProgress<T>(
  c: DuckDBConnection,
  opts: ProfileOptions,
  pass: 0 | 1,
  fn: () => Promise<T>,
): Promise<T> {
  const report = opts.onProgress;
  if (!report) return fn();
  // DuckDB counts progress only while its progress bar is on; printing stays off.
  await c.run('SET enable_progress_bar = true');
  await c.run('SET enable_progress_bar_print = false');
  const timer = setInterval(() => {
    const p = c.progress;
    const pct = Number(p.percentage);
    const total = Number(p.total_rows_to_process);
    if (!(pct > 0) || !(total > 0)) return;
    const fraction = (pass + Math.min(pct, 100) / 100) / 2;
    report(Math.round(fraction * total), fraction);
  }, 500);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
