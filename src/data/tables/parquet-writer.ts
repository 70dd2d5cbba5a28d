import { lit, withConnection } from './duckdb-engine.js';

/** A column of a table written from JSON lines, with its DuckDB type (VARCHAR, INTEGER, DOUBLE, JSON, TIMESTAMPTZ, ...). */
export interface JsonlColumn {
  name: string;
  type: string;
}

/**
 * Writes a newline-delimited JSON file as Parquet with exactly these columns (absent keys are null).
 * DuckDB streams from one file to the other, so memory stays bounded however large the file; an
 * empty input gives a Parquet file with the columns and no rows.
 */
export async function convertJsonlToParquet(
  jsonlPath: string,
  parquetPath: string,
  columns: readonly JsonlColumn[],
  /** Rows per Parquet row group (DuckDB's default when undefined); smaller groups let a filtered read skip more by their statistics. */
  rowGroupSize?: number,
): Promise<void> {
  const struct = columns.map((c) => `${lit(c.name)}: ${lit(c.type)}`).join(', ');
  await withConnection((c) =>
    c.run(
      `COPY (SELECT * FROM read_json(${lit(jsonlPath)}, format = 'newline_delimited', columns = {${struct}})) TO ${lit(parquetPath)} (FORMAT parquet${rowGroupSize === undefined ? '' : `, ROW_GROUP_SIZE ${Math.max(1, Math.floor(rowGroupSize))}`})`,
    ),
  );
}
