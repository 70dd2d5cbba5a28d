import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  type ParquetCell,
  type ParquetRowColumn,
  type ParquetRowType,
  writeParquetRows,
} from '../../data/index.js';
import type { EntryColumn, EntryInputs } from './entry-decode.js';
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
 * The Parquet schema is what readers (segment-reader.ts, prediction-store.ts) and the audit's deep
 * verify expect: the `predictions` table's columns with these types, then a typed `input:<feature>`
 * column per input feature that fits one JSON type, rows in append order, row groups of 10,240 rows.
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

/**
 * The Parquet type a value keeps exactly, if any. A string with a lone surrogate has none: VARCHAR is
 * UTF-8, where it would read back as U+FFFD, unlike the `inputs` JSON (the feature stays untyped).
 */
const typeOf = (v: unknown): ParquetRowType | undefined => {
  if (typeof v === 'number') return Number.isFinite(v) ? 'DOUBLE' : undefined;
  if (typeof v === 'string') return LONE_SURROGATE.test(v) ? undefined : 'VARCHAR';
  return JSON_TYPES[typeof v];
};

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
 * typed column (`input:<feature>`) beside the `inputs` JSON text, which stays the record of truth.
 * A JSON number is a double in JavaScript, so a DOUBLE column holds it exactly; a feature missing from
 * a row, null, nested or of mixed types stays in the JSON column only. A record decoded from columns
 * is judged by its entry's columns, once per entry (every such record has all the entry's features);
 * the others (a legacy row, a record that travelled as its own JSON) by their text parsed, kept in
 * `parsed`. The first row's features decide which may be typed, as each row's object did before.
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
  return [...(types ?? new Map<string, ParquetRowType>())].map(([key, type]) => ({
    key,
    name: inputColumnName(key),
    type,
  }));
}

/**
 * Writes rows (flat cells, flattenRows) as a Parquet file at `parquetPath`, in their order, typed input
 * columns added; `sources` says where each row's inputs are held as columns (unpackRows).
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
  // Each typed column's place among the columns of the entry's features, for the last list of
  // features met (entries of one model share the list, so it is worked out about once).
  let lastNames: readonly string[] | undefined;
  let places = new Int32Array(typed.length);
  const placesOf = (e: EntryInputs): Int32Array => {
    if (e.names !== lastNames) {
      lastNames = e.names;
      places = Int32Array.from(typed, (t) => e.index.get(t.key) as number);
    }
    return places;
  };
  const cellAt = (r: number, k: number): ParquetCell => {
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
  await writeParquetRows(parquetPath, columns, cells.length / PREDICTION_WIDTH, cellAt, SEAL_ROW_GROUP);
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
