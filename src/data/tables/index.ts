/** Tables inside dataset versions: reading, schema, profiles (mergeable), and diffs. */

export { columnTypeOf, valueSql } from './column-types.js';
export { ident, lit, tableSource, withConnection } from './duckdb-engine.js';
export { mergeProfiles } from './profile-merge.js';
export { sketchCdf, sketchQuantile } from './quantile-sketch.js';
export * from './table.schema.js';
export { diffTables } from './table-diff.js';
export { HISTOGRAM_BINS, type ProfileOptions, profileTableFile, TOP_K } from './table-profiler.js';
export { detectTableFormat, type ReadOptions, readTableFile } from './table-reader.js';
