import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  type ParquetCell,
  type ParquetRowColumn,
  type ParquetRowType,
  writeParquetRows,
} from '../../data/index.js';
import { columnarText, type EntryColumn, type EntryInputs } from './entry-decode.js';
import {
  type Cell,
  flattenRows,
  type InputSources,
  PREDICTION_COLUMNS,
  PREDICTION_WIDTH,
} from './prediction-row.js';
import type { SealedSummary } from './segment.repo.js';
import { readSegmentFile } from './segment-file.js';
import { inputColumnName, summarise } from './segment-parquet.js';

/*
 * The CPU-heavy half of sealing a segment: its file decoded into rows, and those rows written as a
 * Parquet file (by DuckDB). It runs in the seal worker thread (segment-seal-worker.ts), off the
 * serving process's event loop; the blob put, the index row and the file's deletion stay with the
 * caller (segment-writer.ts).
 *
 * The Parquet schema is what readers (segment-parquet.ts, segment-columns.ts) expect: the
 * `predictions` table's columns with these types, then a typed `input:<feature>` column per input
 * feature that fits one JSON type, rows in append order, row groups of 10,240 rows.
 *
 * A row's `inputs` JSON text is stored only where the typed columns do not hold the row's inputs
 * object exactly. A columnar record (entry-decode.ts) whose entry's features are the typed columns, in
 * their order, has its `inputs` written as NULL and its text never built (it was ~40% of a seal's CPU,
 * and as much again in the file): readers rebuild it from the typed columns in the file's column order
 * (segment-inputs.ts), byte for byte the text the row had (JSON.stringify of an object of those keys
 * in that order: a DOUBLE holds the number exactly, -0 prints as 0 either way, a typed string reads
 * back as itself). Every other row (a legacy row, a record that travelled as its own JSON text, an
 * entry of other features or another order) keeps its text; files sealed before hold it in every row.
 */

const TYPES: Partial<Record<string, ParquetRowType>> = {
  version: 'INTEGER',
  served_at: 'BIGINT',
  latency_us: 'INTEGER',
};
const PARQUET_COLUMNS: readonly ParquetRowColumn[] = PREDICTION_COLUMNS.map((name) => ({
  name,
  type: TYPES[name] ?? 'VARCHAR',
}));

// Row groups of 10,000 rows (DuckDB rounds up to 10,240, five vectors): a page read past a cursor
// skips the groups before it by their served_at statistics, and a lookup by id reads the one group
// whose id range holds it (ids grow with time), instead of the whole segment. Measured on 10 segments
// of 100k rows x 20 features (2026-12-05): a get by id cost ~15 ms of CPU against ~120 ms with one
// 100k-row group, while the full scan of the 20 typed columns cost ~0.14 s against ~0.10 s; both
// small beside the rest of a scan, so the lookups decide.
const SEAL_ROW_GROUP = 10_000;

const JSON_TYPES: Partial<Record<string, ParquetRowType>> = {
  number: 'DOUBLE',
  string: 'VARCHAR',
  boolean: 'BOOLEAN',
};
const MAX_TYPED_INPUTS = 1000;

/** A typed input column: the feature's key in the inputs object, and its Parquet column. */
interface TypedInput extends ParquetRowColumn {
  key: string;
}

/** A lone surrogate (text that is not well-formed UTF-16): it has no UTF-8 form. */
const LONE_SURROGATE = /\p{Cs}/u;
const BYTE_ORDER_MARK = 0xfeff;

/**
 * The Parquet type a value keeps exactly, if any. A string with a lone surrogate has none: VARCHAR is
 * UTF-8, where it would read back as U+FFFD, unlike the `inputs` JSON (the feature stays untyped).
 * Nor has one that starts with U+FEFF: DuckDB's node client decodes text with a TextDecoder, which
 * drops a leading byte-order mark (the file holds it; the value read back would lack it).
 */
const typeOf = (v: unknown): ParquetRowType | undefined => {
  if (typeof v === 'number') return Number.isFinite(v) ? 'DOUBLE' : undefined;
  if (typeof v === 'string')
    return LONE_SURROGATE.test(v) || v.charCodeAt(0) === BYTE_ORDER_MARK ? undefined : 'VARCHAR';
  return JSON_TYPES[typeof v];
};

/**
 * Whether a feature's column name reads back as `input:<feature>`: not with a lone surrogate (UTF-8
 * again) nor a NUL (DuckDB's SQL text ends there), and not when an earlier feature's name differs only
 * in case (DuckDB's column names are case-insensitive: the table would refuse the second column).
 */
function nameable(key: string, lowered: Set<string>): boolean {
  if (LONE_SURROGATE.test(key) || key.includes('\u0000')) return false;
  const low = key.toLowerCase();
  if (lowered.has(low)) return false;
  lowered.add(low);
  return true;
}

/** Each column's type across an entry's columnar records (undefined: none, or more than one). */
function entryTypes(e: EntryInputs): (ParquetRowType | undefined)[] {
  return e.columns.map((c) => {
    if (!c.values) {
      for (let q = 0; q < e.records; q++) if (!Number.isFinite(e.f[c.at + q])) return undefined;
      return 'DOUBLE';
    }
    const t = typeOf(c.values[0]);
    for (let q = 1; q < e.records && t; q++) if (typeOf(c.values[q]) !== t) return undefined;
    return t;
  });
}

/** The value of feature j in an entry's q-th columnar record. */
function valueAt(e: EntryInputs, j: number, q: number): unknown {
  const c = e.columns[j] as EntryColumn;
  return c.values ? c.values[q] : e.f[c.at + q];
}

/** Row `at`'s inputs object: the text parsed (undefined when it is no object). */
function parseInputs(cells: readonly Cell[], at: number): Record<string, unknown> | undefined {
  const inputs = JSON.parse(cells[at + INPUTS] as string) as unknown;
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) return undefined;
  return inputs as Record<string, unknown>;
}

const INPUTS = PREDICTION_COLUMNS.indexOf('inputs');

/**
 * The input features every row holds with one JSON type (number, string or boolean): each gets a
 * typed column (`input:<feature>`) that holds its values exactly (the row's `inputs` text, where it
 * is stored, says the same). A JSON number is a double in JavaScript, so a DOUBLE column holds it
 * exactly; a feature missing from a row, null, nested or of mixed types stays in the JSON column
 * only. A record decoded from columns is judged by its entry's columns, once per entry (every such
 * record has all the entry's features); the others (a legacy row, a record that travelled as its own
 * JSON) by their text parsed, kept in `parsed`. The first row's features decide which may be typed,
 * as each row's object did before; a feature whose column name would not read back is not.
 */
function typedInputColumns(
  cells: readonly Cell[],
  sources: InputSources,
  parsed: (Record<string, unknown> | undefined)[],
): TypedInput[] {
  const n = cells.length / PREDICTION_WIDTH;
  let types: Map<string, ParquetRowType> | undefined;
  let seen: EntryInputs | undefined;
  for (let i = 0; i < n; i++) {
    const e = sources.entries[i];
    const q = sources.slots[i] as number;
    if (e && q >= 0) {
      if (e === seen) continue;
      seen = e;
      const ts = entryTypes(e);
      if (!types) {
        types = new Map();
        for (let j = 0; j < e.names.length; j++) {
          const t = typeOf(valueAt(e, j, q));
          if (t) types.set(e.names[j] as string, t);
        }
        if (types.size > MAX_TYPED_INPUTS) return [];
      }
      for (const [k, t] of types) {
        const j = e.index.get(k);
        if (j === undefined || ts[j] !== t) types.delete(k);
      }
    } else {
      const obj = parseInputs(cells, i * PREDICTION_WIDTH);
      if (!obj) return [];
      parsed[i] = obj;
      if (!types) {
        types = new Map();
        for (const k in obj) {
          const t = typeOf(obj[k]);
          if (t) types.set(k, t);
        }
        if (types.size > MAX_TYPED_INPUTS) return [];
      } else {
        // Every typed key must be present with its type; keys beyond them do not matter.
        for (const [k, t] of types) if (!Object.hasOwn(obj, k) || typeOf(obj[k]) !== t) types.delete(k);
      }
    }
    if (types.size === 0) return [];
  }
  const lowered = new Set<string>();
  return [...(types ?? new Map<string, ParquetRowType>())]
    .filter(([key]) => nameable(key, lowered))
    .map(([key, type]) => ({ key, name: inputColumnName(key), type }));
}

/**
 * Whether an entry's columnar records hold exactly the typed features, in the typed columns' order:
 * then a record's inputs object is its typed cells, and its text is rebuilt from them on reading.
 */
function heldByColumns(e: EntryInputs, typed: readonly TypedInput[]): boolean {
  if (typed.length === 0 || e.names.length !== typed.length) return false;
  for (let j = 0; j < typed.length; j++) if (e.names[j] !== (typed[j] as TypedInput).key) return false;
  return true;
}

/**
 * Writes rows (flat cells, flattenRows) as a Parquet file at `parquetPath`, in their order, typed input
 * columns added; `sources` says where each row's inputs are held as columns (unpackRows: a columnar
 * record's inputs cell is undefined, its text not built). Such a row's `inputs` is NULL where the
 * typed columns hold its inputs (heldByColumns), else its text, built here.
 */
export async function writeSealedParquet(
  cells: readonly Cell[],
  parquetPath: string,
  sources: InputSources,
): Promise<void> {
  const parsed: (Record<string, unknown> | undefined)[] = [];
  const typed = typedInputColumns(cells, sources, parsed);
  const columns = [...PARQUET_COLUMNS, ...typed];
  const base = PARQUET_COLUMNS.length;
  const { entries, slots } = sources;
  // Each typed column's place among the columns of the entry's features, and whether they are the
  // typed features in order, for the last list of features met (entries of one model share the list,
  // so it is worked out about once).
  let lastNames: readonly string[] | undefined;
  let places = new Int32Array(typed.length);
  let held = false;
  const placesOf = (e: EntryInputs): Int32Array => {
    if (e.names !== lastNames) {
      lastNames = e.names;
      places = Int32Array.from(typed, (t) => e.index.get(t.key) as number);
      held = heldByColumns(e, typed);
    }
    return places;
  };
  const cellAt = (r: number, k: number): ParquetCell => {
    if (k === INPUTS) {
      const text = cells[r * PREDICTION_WIDTH + INPUTS];
      if (text !== undefined) return text as string;
      // A columnar record (unpackRows left its text out).
      const e = entries[r] as EntryInputs;
      placesOf(e);
      return held ? null : columnarText(e, slots[r] as number);
    }
    if (k < base) return (cells[r * PREDICTION_WIDTH + k] ?? null) as ParquetCell;
    const e = entries[r];
    const q = slots[r] as number;
    let v: ParquetCell;
    if (e && q >= 0) {
      v = valueAt(e, placesOf(e)[k - base] as number, q) as ParquetCell;
    } else v = (parsed[r] as Record<string, ParquetCell>)[(typed[k - base] as TypedInput).key] ?? null;
    // The JSON text prints -0 as 0, and the typed column holds what the text reads back as.
    return v === 0 ? 0 : v;
  };
  // A typed number column of columnar records, copied from the entries' value arrays a run of
  // records at a time (each entry holds a feature's values in record order); -0 + 0 is 0, as above.
  const fillDoubles = (k: number, from: number, n: number, out: Float64Array): boolean => {
    if (k < base) return false;
    for (let i = 0; i < n; ) {
      const e = entries[from + i];
      const q = slots[from + i] as number;
      if (!e || q < 0) return false;
      const c = e.columns[placesOf(e)[k - base] as number] as EntryColumn;
      if (c.values) return false;
      let len = 1;
      while (i + len < n && entries[from + i + len] === e && slots[from + i + len] === q + len) len++;
      out.set(e.f.subarray(c.at + q, c.at + q + len), i);
      i += len;
    }
    for (let i = 0; i < n; i++) out[i] = (out[i] as number) + 0;
    return true;
  };
  await writeParquetRows(
    parquetPath,
    columns,
    cells.length / PREDICTION_WIDTH,
    cellAt,
    SEAL_ROW_GROUP,
    fillDoubles,
  );
}

/** What building a sealed segment gives: its summary, its Parquet file (none for no rows), and how its file ends. */
export interface BuiltSegment {
  summary: SealedSummary;
  /** The Parquet file of the rows, in the folder given; undefined when the segment holds no row. */
  parquet: string | undefined;
  /** Bytes up to the end of the last whole frame, and whether more follow (a torn tail to cut). */
  validBytes: number;
  torn: boolean;
}

/**
 * Reads a segment file (its whole frames; a missing file holds no rows) and writes its rows as
 * `rows.parquet` in `dir`; the summary's blob fields stay empty until the file is stored.
 */
export async function buildSealedSegment(file: string, dir: string): Promise<BuiltSegment> {
  const contents = existsSync(file) ? readSegmentFile(file) : { groups: [], validBytes: 0, torn: false };
  const sources: InputSources = { entries: [], slots: [] };
  const cells = flattenRows(contents.groups.flat(), sources);
  const summary = summarise(cells);
  let parquet: string | undefined;
  if (cells.length > 0) {
    parquet = path.join(dir, 'rows.parquet');
    await writeSealedParquet(cells, parquet, sources);
  }
  return { summary, parquet, validBytes: contents.validBytes, torn: contents.torn };
}
