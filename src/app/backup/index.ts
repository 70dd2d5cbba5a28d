/*
 * Whole-workspace operations: backup and restore (one tar archive of the database and the blobs,
 * with a manifest of digests).
 */

/** Writes a backup archive of an open workspace (`backupWorkspace(ws, 'backup.tar', { actor, auditKey })`). */
export { type BackupResult, backupWorkspace } from './backup.js';
/** The manifest's shape (what an archive holds, with digests). */
export { type BackupManifest, manifestSchema } from './manifest.js';
/** Restores an archive into the workspace a Config names; refuses a non-empty one unless forced. */
export { type RestoreResult, restoreWorkspace } from './restore.js';
/** Moves a SQLite workspace to PostgreSQL (and its blobs to another store), verified. */
export { migrateStore, type StoreMigrateProgress, type StoreMigrateResult } from './store-migrate.js';
