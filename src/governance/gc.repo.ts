import { sql } from 'kysely';
import { AUDIT_CHAIN_LOCK } from '../audit/index.js';
import type { Dialect, Executor } from '../store/index.js';

/*
 * Where blob keys live: run artifacts, the files of logged models without a run, multipart upload parts, dataset version files, sealed prediction-log segments, model versions (the primary file's sha256
 * column and every file in the `files` JSON). A blob is garbage only when none of these names it; a domain
 * that starts keeping blob keys somewhere new must be added here, or gc would take its bytes.
 * Soft-deleted rows still count: deletes are soft so they can be undone, and undoing needs the bytes.
 */
const KEY_COLUMNS = [
  { table: 'artifacts', column: 'sha256' },
  { table: 'logged_model_artifacts', column: 'sha256' },
  { table: 'dataset_version_files', column: 'sha256' },
  { table: 'model_versions', column: 'sha256' },
  // Parts of a multipart upload still in flight (the assembled file becomes an artifact on completion).
  { table: 'multipart_parts', column: 'sha256' },
  // Sealed segments of the prediction log (Parquet files); `predictions prune` deletes its own.
  { table: 'prediction_segments', column: 'blob_key' },
] as const;

/** Tables gc locks against writers while it re-checks and deletes. */
const REFERENCE_TABLES = [
  'artifacts',
  'logged_model_artifacts',
  'dataset_version_files',
  'model_versions',
  'multipart_parts',
  'prediction_segments',
] as const;

const CHUNK = 500;

/** Keys named in model versions' `files` JSON ([{ path, sha256, size }]). */
async function modelFileKeys(tx: Executor): Promise<string[]> {
  const rows = await tx.selectFrom('model_versions').select('files').execute();
  const keys: string[] = [];
  for (const r of rows) {
    let files: unknown;
    try {
      files = JSON.parse(r.files);
    } catch {
      continue;
    }
    if (!Array.isArray(files)) continue;
    for (const f of files) {
      const k = (f as { sha256?: unknown } | null)?.sha256;
      if (typeof k === 'string') keys.push(k);
    }
  }
  return keys;
}

/** Every blob key that some row references (distinct). */
export async function listReferencedKeys({ tx }: { tx: Executor }): Promise<Set<string>> {
  const out = new Set<string>();
  for (const { table, column } of KEY_COLUMNS) {
    const rows = await sql<{
      k: string;
    }>`select distinct ${sql.ref(column)} as k from ${sql.table(table)}`.execute(tx);
    for (const r of rows.rows) if (r.k) out.add(r.k);
  }
  for (const k of await modelFileKeys(tx)) out.add(k);
  return out;
}

/** The keys among `keys` that some row references now. */
export async function findReferencedAmong({
  tx,
  keys,
}: {
  tx: Executor;
  keys: string[];
}): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < keys.length; i += CHUNK) {
    const chunk = keys.slice(i, i + CHUNK);
    for (const { table, column } of KEY_COLUMNS) {
      const rows = await sql<{ k: string }>`select distinct ${sql.ref(column)} as k from ${sql.table(
        table,
      )} where ${sql.ref(column)} in (${sql.join(chunk)})`.execute(tx);
      for (const r of rows.rows) out.add(r.k);
    }
  }
  const wanted = new Set(keys);
  for (const k of await modelFileKeys(tx)) if (wanted.has(k)) out.add(k);
  return out;
}

// The audit chain's advisory lock (audit.repo.ts `lockChain`): every audited writer takes it.

/**
 * Holds off writers of the reference tables until the transaction ends, so no row can start naming a blob
 * between gc's last check and its delete. SQLite: the transaction began IMMEDIATE and already holds the
 * database's write lock. PostgreSQL: SHARE mode on the tables (readers go on, inserts wait). Writers take
 * a table lock and the audit chain's lock in either order, so gc takes the chain's lock first and asks for
 * the tables without waiting: holding one lock while waiting for another could close a cycle.
 * Returns false when a writer holds a table now; the caller rolls back and tries again.
 */
export async function lockReferenceTables({
  tx,
  dialect,
}: {
  tx: Executor;
  dialect: Dialect;
}): Promise<boolean> {
  await dialect.lockForTransaction(tx, AUDIT_CHAIN_LOCK);
  return dialect.tryShareLockTables(tx, REFERENCE_TABLES);
}
