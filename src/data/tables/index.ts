/** Tables inside dataset versions: reading, schema, profiles (mergeable), and diffs. */

/** Folds DuckDB types onto Sextant's column types; the SQL giving a column's JS-friendly value. */
export { columnTypeOf, isNumeric, valueSql } from './column-types.js';
/** The shared DuckDB (withConnection), SQL quoting, the FROM expression of a file, read-error mapping. */
export {
  assertReadable,
  ident,
  isConversionError,
  lit,
  tableSource,
  translateReadError,
  withConnection,
  withSandboxedConnection,
} from './duckdb-engine.js';
/** The profile of the union of two tables' rows, from their profiles alone. */
export { mergeProfiles } from './profile-merge.js';
/** CDF and quantile read off a 101-point quantile sketch. */
export { sketchCdf, sketchQuantile } from './quantile-sketch.js';
export * from './table.schema.js';
/** Schema changes, row counts and per-column statistics side by side. */
export { diffTables } from './table-diff.js';
/** Schema + profile of a CSV / Parquet / JSON Lines file, streamed through DuckDB; describeSource lists its columns. */
export {
  describe as describeSource,
  HISTOGRAM_BINS,
  type ProfileOptions,
  profileTableFile,
  TOP_K,
} from './table-profiler.js';
/** The table format of a path by extension; a whole (small) table read into memory. */
export { detectTableFormat, type ReadOptions, readTableFile } from './table-reader.js';
