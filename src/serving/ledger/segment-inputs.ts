import type { DuckDBConnection, DuckDBDataChunk, DuckDBVector } from '@duckdb/node-api';
import { ident, lit } from '../../data/index.js';
import { recordTextMaker } from './entry-decode.js';

/*
 * The inputs of sealed segments' rows, as readers get them back. A sealed file stores a row's
 * `inputs` JSON text only where its typed `input:<feature>` columns do not hold the row's inputs
 * object exactly (segment-seal-parquet.ts); elsewhere `inputs` is NULL and the text is rebuilt from
 * those columns, in the file's column order, as the row had it. Files differ in their typed columns
 * (a column of one name may even have another type in another file), so a read goes by groups of
 * files with the same typed columns: one SELECT each, joined by UNION ALL BY NAME. A typed column is
 * carried under a name of its feature and type together, shared by every group that has it (NULL in
 * the others' rows), so a read is no wider than the distinct (feature, type) pairs of its files. Values are taken out of
 * DuckDB's chunks as columns (a JS object per row with thirty more values cost more than the text).
 * Files sealed before hold the text in every row: they read as they always did.
 */

const INPUT_PREFIX = 'input:';

// Column types of sealed Parquet files by path: the cache holds a file under its blob's sha256, so a
// path's columns never change.
const schemas = new Map<string, Map<string, string>>();

/** A sealed file's columns and their DuckDB types, in the file's order. */
export async function schemaOf(c: DuckDBConnection, file: string): Promise<Map<string, string>> {
  let s = schemas.get(file);
  if (!s) {
    const rows = (
      await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${lit(file)})`)
    ).getRowObjectsJS();
    s = new Map(rows.map((r) => [String(r.column_name), String(r.column_type)]));
    schemas.set(file, s);
  }
  return s;
}

/** Sealed files with the same typed input columns (names and types, in the same order). */
export interface InputGroup {
  files: string[];
  /** The features of the typed columns, in the files' column order. */
  features: string[];
  /** Whether each feature's column is DOUBLE (its values copied out of DuckDB's buffer at once). */
  doubles: boolean[];
  /** The text of a row whose inputs are its typed values, from those values in `features` order. */
  text: (values: readonly unknown[]) => string;
  /** Each feature's place among the read's held columns (heldColumns), shared by feature and type. */
  held: number[];
}

/** The files grouped by their typed input columns, in the order of each group's first file. */
export async function inputGroups(c: DuckDBConnection, files: readonly string[]): Promise<InputGroup[]> {
  const groups = new Map<string, InputGroup>();
  const places = new Map<string, number>();
  const placeOf = (key: string): number => {
    let at = places.get(key);
    if (at === undefined) {
      at = places.size;
      places.set(key, at);
    }
    return at;
  };
  for (const file of files) {
    const typed = [...(await schemaOf(c, file))].filter(([name]) => name.startsWith(INPUT_PREFIX));
    const key = JSON.stringify(typed);
    const g = groups.get(key);
    if (g) g.files.push(file);
    else {
      const features = typed.map(([name]) => name.slice(INPUT_PREFIX.length));
      const doubles = typed.map(([, type]) => type === 'DOUBLE');
      const held = typed.map((pair) => placeOf(JSON.stringify(pair)));
      groups.set(key, { files: [file], features, doubles, text: recordTextMaker(features), held });
    }
  }
  return [...groups.values()];
}

/** The column of a grouped read that says which group a row comes from. */
export const GROUP_COLUMN = '$group';
/** The held column at `place` in a grouped read. */
const heldColumn = (place: number): string => `$input${place}`;

/** The typed input columns of a grouped read, by place (what `inputsTexts` reads after GROUP_COLUMN). */
export function heldColumns(groups: readonly InputGroup[]): string[] {
  let count = 0;
  for (const g of groups) for (const at of g.held) count = Math.max(count, at + 1);
  return Array.from({ length: count }, (_, at) => heldColumn(at));
}

/**
 * The SQL of the rows of the groups' files meeting `conds`: the columns `select` (SQL expressions,
 * the same in every file), GROUP_COLUMN and, with `held`, each group's typed input columns under
 * the names heldColumns gives. DuckDB prunes each file by the conditions as a single read would.
 */
export function groupedRows(
  groups: readonly InputGroup[],
  conds: readonly string[],
  select: readonly string[],
  held: boolean,
): string {
  const where = conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
  return groups
    .map((g, k) => {
      const cols = [...select, `${k} AS ${ident(GROUP_COLUMN)}`];
      if (held)
        for (const [j, f] of g.features.entries())
          cols.push(`${ident(INPUT_PREFIX + f)} AS ${ident(heldColumn(g.held[j] as number))}`);
      return `SELECT ${cols.join(', ')} FROM read_parquet([${g.files.map(lit).join(', ')}])${where}`;
    })
    .join(' UNION ALL BY NAME ');
}

/** A column's numbers, copied out of DuckDB's buffer when the vector exposes it. */
export function numbersOf(v: DuckDBVector, n: number): Float64Array {
  // `items` is the typed view on the vector's data that the node-api keeps (not public API): one copy
  // instead of a JavaScript number per value. Any other shape goes value by value.
  const items = (v as unknown as { items?: unknown }).items;
  if (items instanceof Float64Array) return items.slice(0, n);
  if (items instanceof Int32Array) return new Float64Array(items.subarray(0, n));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Number(v.getItem(i));
  return out;
}

/**
 * Each row's inputs text in a chunk of a grouped read whose column `inputsAt` is `inputs` and
 * `groupAt` is GROUP_COLUMN, followed by heldColumns(groups): the text stored, or the text rebuilt
 * from the row's typed values. A group's values are read out of the chunk only when a row needs them.
 */
export function inputsTexts(
  chunk: DuckDBDataChunk,
  groups: readonly InputGroup[],
  inputsAt: number,
  groupAt: number,
): string[] {
  const n = chunk.rowCount;
  const stored = chunk.getColumnVector(inputsAt);
  const group = chunk.getColumnVector(groupAt);
  const held: (ArrayLike<unknown>[] | undefined)[] = [];
  const heldOf = (k: number): ArrayLike<unknown>[] => {
    const g = groups[k] as InputGroup;
    return g.doubles.map((d, j) => {
      const v = chunk.getColumnVector(groupAt + 1 + (g.held[j] as number));
      return d ? numbersOf(v, n) : Array.from({ length: n }, (_, i) => v.getItem(i));
    });
  };
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const text = stored.getItem(i);
    if (text !== null) {
      out[i] = text as string;
      continue;
    }
    const k = Number(group.getItem(i));
    const g = groups[k];
    if (!g || g.features.length === 0)
      throw new Error('a sealed row with neither its inputs text nor typed input columns');
    held[k] ??= heldOf(k);
    const columns = held[k] as ArrayLike<unknown>[];
    out[i] = g.text(columns.map((c) => c[i]));
  }
  return out;
}
