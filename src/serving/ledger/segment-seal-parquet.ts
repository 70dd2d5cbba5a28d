import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  type ParquetCell,
  type ParquetRowColumn,
  type ParquetRowType,
  writeParquetRows,
} from '../../data/index.js';
import type { PredictionTable } from '../../store/schema-serving.js';
import { type InputObjects, PREDICTION_COLUMNS } from './prediction-row.js';
import type { SealedSummary } from './segment.repo.js';
import { readSegmentFile } from './segment-file.js';
import { inputColumnName, rowsOfGroups, summarise } from './segment-parquet.js';

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

/**
 * The input features every row holds with one JSON type (number, string or boolean): each gets a
 * typed column (`input:<feature>`) beside the `inputs` JSON text, which stays the record of truth.
 * A JSON number is a double in JavaScript, so a DOUBLE column holds it exactly; a feature missing from
 * a row, null, nested or of mixed types stays in the JSON column only. `parsed` holds each row's
 * inputs: the object decoding printed its JSON text from where there is one (the text is not parsed
 * back: that parse was most of a seal's CPU), else the text parsed (a legacy row, a record that
 * travelled as its own JSON). Each is what JSON.parse of the row's text gives, -0 aside (see cellAt).
 */
function typedInputColumns(rows: PredictionTable[], parsed: InputObjects): TypedInput[] {
  let types: Map<string, ParquetRowType> | undefined;
  for (let i = 0; i < rows.length; i++) {
    let obj = parsed[i];
    if (!obj) {
      const inputs = JSON.parse((rows[i] as PredictionTable).inputs) as unknown;
      if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) return [];
      obj = inputs as Record<string, unknown>;
      parsed[i] = obj;
    }
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
    if (types.size === 0) return [];
  }
  return [...(types ?? new Map<string, ParquetRowType>())].map(([key, type]) => ({
    key,
    name: inputColumnName(key),
    type,
  }));
}

/**
 * Writes the rows as a Parquet file at `parquetPath` (rows in their order, typed input columns added).
 * `parsed[i]`, where given, is row i's inputs object (from the decoder); the others are parsed here.
 */
export async function writeSealedParquet(
  rows: PredictionTable[],
  parquetPath: string,
  parsed: InputObjects = [],
): Promise<void> {
  const typed = typedInputColumns(rows, parsed);
  const columns = [...PARQUET_COLUMNS, ...typed];
  const base = PARQUET_COLUMNS.length;
  const names = PREDICTION_COLUMNS as readonly string[];
  const cellAt = (r: number, k: number): ParquetCell => {
    if (k < base) return (rows[r] as unknown as Record<string, ParquetCell>)[names[k] as string] ?? null;
    const v = (parsed[r] as Record<string, ParquetCell>)[(typed[k - base] as TypedInput).key] ?? null;
    // The JSON text prints -0 as 0, and the typed column holds what the text reads back as.
    return v === 0 ? 0 : v;
  };
  await writeParquetRows(parquetPath, columns, rows.length, cellAt, SEAL_ROW_GROUP);
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
  const objects: InputObjects = [];
  const rows = rowsOfGroups(contents.groups, objects);
  const summary = summarise(rows);
  let parquet: string | undefined;
  if (rows.length > 0) {
    parquet = path.join(dir, 'rows.parquet');
    await writeSealedParquet(rows, parquet, objects);
  }
  return { summary, parquet, validBytes: contents.validBytes, torn: contents.torn };
}
