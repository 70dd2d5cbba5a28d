/** Deletes in short transactions until nothing is left (retention passes). */
export { deleteInBatches } from './batched-delete.js';
export type { Db, Executor, OpenStoreOptions, Store, Tx } from './database.js';
/** Opens and migrates the database named by a URL. */
/** Migrates a store to the latest schema (idempotent, safe under concurrent starts). */
/** Runs a function in one transaction. */
/** Masks the password in a database URL. */
/** Whether the database answers. */
/** A SQLite connection with the store's settings, for writer threads; the file of a store, if any. */
export {
  inTransaction,
  migrateToLatest,
  openSqliteConnection,
  openStore,
  pingStore,
  redactUrl,
  sqliteFileOf,
} from './database.js';
/** The backend differences in one object (locks, LIKE, ordering, bulk inserts, migration types). */
export {
  type BulkColumn,
  type BulkInsert,
  type Dialect,
  type DialectName,
  dialectNamed,
  dialectOf,
  type JsonField,
  likeToGlob,
  postgresDialect,
  sqliteDialect,
} from './dialect.js';
export type * from './schema.js';
export type * from './schema-logged-models.js';
export type * from './schema-monitoring.js';
/** Logical copies, table by table in foreign-key order (backups of PostgreSQL, moving a workspace). */
export {
  countTableRows,
  insertTableRows,
  readTableRows,
  resetSequences,
  tablesInDependencyOrder,
  truncateDataTables,
} from './table-copy.js';
export { isUniqueViolation } from './unique-violation.js';
