import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditVerifyResult } from '../../audit/index.js';
import { createBlobStore } from '../../blobs/index.js';
import type { Config } from '../../core/config.js';
import { ConflictError, IntegrityError, ValidationError } from '../../core/errors.js';
import {
  countTableRows,
  insertTableRows,
  inTransaction,
  openSqliteConnection,
  openStore,
  readTableRows,
  redactUrl,
  resetSequences,
  type Store,
  sqliteFileOf,
  tablesInDependencyOrder,
  truncateDataTables,
} from '../../store/index.js';
import { openWorkspace } from '../services.js';
import { countAuditEntries } from './backup.repo.js';

/*
 * `sextant store migrate --to postgres://... [--blobs s3://...]`: moves a workspace onto a team
 * server with every id, digest and audit entry as it was. The source is read from a snapshot (SQLite's
 * online backup into a scratch file), so a server may keep running on it; the target must be empty
 * (no audit entry: the rows its migrations seed are replaced by the source's).
 * Tables are copied parents first in one target transaction, each table's row count checked; blobs
 * are copied verified; then the target workspace records the move and must pass `audit verify --deep`.
 */

export interface StoreMigrateResult {
  tables: { name: string; rows: number }[];
  blobsCopied: number;
  verify: AuditVerifyResult;
}

/**
 * How a migration is getting on: tables copied of all (`note`: the table and its rows), blobs copied
 * (`total` 0: not counted beforehand), then the check of the target.
 */
export type StoreMigrateProgress = (p: {
  phase: 'tables' | 'blobs' | 'verifying';
  done: number;
  total: number;
  note?: string;
}) => void;

/** Copies the workspace a Config names to another database (and blob store). */
export async function migrateStore(
  config: Config,
  options: { to: string; blobs?: string; actor: string; onProgress?: StoreMigrateProgress },
): Promise<StoreMigrateResult> {
  if (!/^postgres(ql)?:\/\//.test(options.to))
    throw new ValidationError(`--to: expected a postgres:// URL, got '${redactUrl(options.to)}'`, {
      field: '--to',
    });
  if (options.to === config.databaseUrl)
    throw new ValidationError('--to: that is the database this workspace already uses', { field: '--to' });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-migrate-'));
  try {
    const source = await snapshotOf(config.databaseUrl, scratch);
    const target = await openStore(options.to);
    let tables: StoreMigrateResult['tables'];
    try {
      tables = await copyTables(source, target, options.onProgress);
    } finally {
      await target.close();
      await source.close();
    }
    const blobsCopied = options.blobs ? await copyBlobs(config, options.blobs, options.onProgress) : 0;
    const moved: Config = { ...config, databaseUrl: options.to, blobUrl: options.blobs ?? config.blobUrl };
    options.onProgress?.({ phase: 'verifying', done: 0, total: 0, note: 'row counts and the audit chain' });
    return { tables, blobsCopied, verify: await recordAndVerify(moved, config, tables, options.actor) };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** A store over a consistent copy of the source (SQLite), or the source itself read in one transaction. */
async function snapshotOf(url: string, scratch: string): Promise<Store> {
  const live = await openStore(url);
  const file = sqliteFileOf(live);
  if (!file) {
    await live.close();
    throw new ValidationError(
      'store migrate moves a SQLite workspace (file) to PostgreSQL; use backup and restore between PostgreSQL servers',
      {
        field: 'SEXTANT_DATABASE_URL',
      },
    );
  }
  await live.close();
  const copy = path.join(scratch, 'snapshot.db');
  const conn = openSqliteConnection(file);
  try {
    await conn.backup(copy);
  } finally {
    conn.close();
  }
  return openStore(`sqlite:${copy}`);
}

async function copyTables(
  source: Store,
  target: Store,
  onProgress: StoreMigrateProgress | undefined,
): Promise<StoreMigrateResult['tables']> {
  const tables = await tablesInDependencyOrder(source.db, source);
  const present = await tablesInDependencyOrder(target.db, target);
  // Every change writes an audit entry: none means nothing but what the migrations seed (emptied below).
  const entries = await countAuditEntries(target.db);
  if (entries > 0)
    throw new ConflictError(
      `--to: the target database is not empty (${entries} audit entries); store migrate only fills an empty one`,
      { field: '--to' },
    );
  const missing = tables.filter((t) => !present.includes(t));
  if (missing.length > 0)
    throw new ValidationError(`--to: the target has no table ${missing.join(', ')}`, { field: '--to' });
  const copied: StoreMigrateResult['tables'] = [];
  await inTransaction(target.db, async (tx) => {
    await truncateDataTables(tx, present);
    for (const name of tables) {
      let rows = 0;
      for await (const batch of readTableRows(source.db, source, name)) {
        await insertTableRows(tx, name, batch);
        rows += batch.length;
      }
      const there = await countTableRows(tx, name);
      if (there !== rows) throw new IntegrityError(`${name}: ${rows} rows read, ${there} in the target`);
      copied.push({ name, rows });
      onProgress?.({
        phase: 'tables',
        done: copied.length,
        total: tables.length,
        note: `${name}: ${rows} rows`,
      });
    }
    await resetSequences(tx, target);
  });
  return copied;
}

async function copyBlobs(config: Config, to: string, onProgress?: StoreMigrateProgress): Promise<number> {
  const from = createBlobStore(config.blobUrl, { s3: config.s3 });
  const target = createBlobStore(to, { s3: config.s3 });
  let copied = 0;
  try {
    for await (const info of from.list()) {
      if (await target.has(info.sha256)) continue;
      const put = await target.put(await from.get(info.sha256));
      if (put.sha256 !== info.sha256) throw new IntegrityError(`blob ${info.sha256} changed on its way`);
      copied++;
      onProgress?.({ phase: 'blobs', done: copied, total: 0 });
    }
  } finally {
    await from.close();
    await target.close();
  }
  return copied;
}

async function recordAndVerify(
  moved: Config,
  from: Config,
  tables: StoreMigrateResult['tables'],
  actor: string,
): Promise<AuditVerifyResult> {
  const ws = await openWorkspace(moved);
  try {
    await inTransaction(ws.store.db, (tx) =>
      ws.audit.append(tx, {
        actor,
        action: 'workspace.migrated',
        entityType: 'workspace',
        entityId: 'workspace',
        details: {
          from: redactUrl(from.databaseUrl),
          blobsFrom: moved.blobUrl === from.blobUrl ? null : from.blobUrl,
          rows: tables.reduce((n, t) => n + t.rows, 0),
        },
      }),
    );
    const verify = await ws.audit.verify({ deep: true });
    if (!verify.ok)
      throw new IntegrityError(
        `the moved audit chain does not verify: ${verify.problems[0]?.message ?? ''}`,
        {
          problems: verify.problems,
        },
      );
    return verify;
  } finally {
    await ws.close();
  }
}
