export type { Db, Executor, OpenStoreOptions, Store, Tx } from './database.js';
/** Opens and migrates the database named by a URL. */
/** Migrates a store to the latest schema (idempotent, safe under concurrent starts). */
/** Runs a function in one transaction. */
/** Masks the password in a database URL. */
/** Whether the database answers. */
export { inTransaction, migrateToLatest, openStore, pingStore, redactUrl } from './database.js';
export type { Dialect } from './dialect.js';
export type * from './schema.js';
export { isUniqueViolation } from './unique-violation.js';
