import type { DuckDBConnection } from '@duckdb/node-api';
import { ident, lit } from '../../data/index.js';
import { recordTextMaker } from './entry-decode.js';

/*
 * The inputs of sealed segments' rows, as readers get them back. A sealed file stores a row's
 * `inputs` JSON text only where its typed `input:<feature>` columns do not hold the row's inputs
 * object exactly (segment-seal-parquet.ts); elsewhere `inputs` is NULL and the text is rebuilt from
 * those columns, in the file's column order, as the row had it. Files differ in their typed columns
 * (a column of one name may even have another type in another file), so a read goes by groups of
 * files with the same typed columns: one SELECT each, joined by UNION ALL BY NAME, each carrying its
 * rows' typed values as one struct column of its own (NULL where the row stores its text). Files
 * sealed before hold the text in every row: they read as they always did.
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
  /** The text of a row whose inputs are its typed values, from those values in `features` order. */
  text: (values: readonly unknown[]) => string;
}

/** The files grouped by their typed input columns, in the order of each group's first file. */
export async function inputGroups(c: DuckDBConnection, files: readonly string[]): Promise<InputGroup[]> {
  const groups = new Map<string, InputGroup>();
  for (const file of files) {
    const typed = [...(await schemaOf(c, file))].filter(([name]) => name.startsWith(INPUT_PREFIX));
    const key = JSON.stringify(typed);
    const g = groups.get(key);
    if (g) g.files.push(file);
    else {
      const features = typed.map(([name]) => name.slice(INPUT_PREFIX.length));
      groups.set(key, { files: [file], features, text: recordTextMaker(features) });
    }
  }
  return [...groups.values()];
}

/** The column of a grouped read that says which group a row comes from. */
export const GROUP_COLUMN = '$group';
/** The struct column of group g's typed values (fields v0, v1, ...), where a row stores no text. */
export const heldInputsColumn = (g: number): string => `$inputs${g}`;

/**
 * The SQL of the rows of the groups' files meeting `conds`: the columns `select` (SQL expressions,
 * the same in every file), GROUP_COLUMN and, with `held`, each group's heldInputsColumn. DuckDB
 * prunes each file by the conditions as it would a single read_parquet.
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
      if (held && g.features.length > 0) {
        // Fields named by position: a struct's JS object would list integer-like names first.
        const fields = g.features.map((f, j) => `v${j} := ${ident(INPUT_PREFIX + f)}`).join(', ');
        cols.push(
          `CASE WHEN inputs IS NULL THEN struct_pack(${fields}) END AS ${ident(heldInputsColumn(k))}`,
        );
      }
      return `SELECT ${cols.join(', ')} FROM read_parquet([${g.files.map(lit).join(', ')}])${where}`;
    })
    .join(' UNION ALL BY NAME ');
}

/** A row's inputs text: its stored text, or the text rebuilt from its group's typed values (a struct as JS). */
export function inputsText(group: InputGroup, stored: unknown, held: unknown): string {
  if (stored !== null && stored !== undefined) return stored as string;
  if (held === null || held === undefined)
    throw new Error('a sealed row with neither inputs text nor typed inputs');
  const fields = held as Record<string, unknown>;
  return group.text(group.features.map((_, j) => fields[`v${j}`]));
}
