import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConflictError, IntegrityError, ValidationError } from '../../core/errors.js';
import {
  inTransaction,
  openSqliteConnection,
  readTableRows,
  sqliteFileOf,
  tablesInDependencyOrder,
} from '../../store/index.js';
import type { Workspace } from '../services.js';
import { findAuditHead, findSqliteFileAuditHead } from './backup.repo.js';
import {
  auditKeyFingerprint,
  BACKUP_FORMAT,
  type BackupManifest,
  blobEntry,
  encodeRow,
  MANIFEST_NAME,
  SQLITE_ENTRY,
  tableEntry,
} from './manifest.js';
import { openTarWriter } from './tar-archive.js';

/*
 * `sextant backup <file>`: one archive of the database and the blobs, taken while the workspace keeps
 * working. The database comes first, as one consistent snapshot (SQLite's online backup API; one
 * REPEATABLE READ transaction on PostgreSQL, read through the store); the blobs after it, so every
 * blob a snapshot row names was already stored (blobs are written before the rows that name them, and
 * only the explicit gc removes one). Each blob is verified while it is copied: a damaged blob fails
 * the backup instead of being preserved.
 */

export interface BackupResult {
  file: string;
  manifest: BackupManifest;
  bytes: number;
}

type Adder = (name: string, size: number, source: NodeJS.ReadableStream | Uint8Array) => Promise<void>;

/** Writes the archive; the file appears only once complete (written beside it, then renamed). */
export async function backupWorkspace(
  ws: Workspace,
  file: string,
  options: {
    actor: string;
    auditKey: string;
    /** Blob bytes archived so far and in all (counted by a first listing pass, made only when asked). */
    onProgress?: ((bytes: number, total: number) => void) | undefined;
  },
): Promise<BackupResult> {
  const target = path.resolve(file);
  if (fs.existsSync(target))
    throw new ConflictError(`${file} already exists; a backup never overwrites a file`, { field: 'file' });
  const partial = `${target}.partial`;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-backup-'));
  const tar = await openTarWriter(partial);
  const entries: BackupManifest['entries'] = [];
  const add: Adder = async (name, size, source) => {
    entries.push({ name, size, sha256: await tar.add(name, size, source as never) });
  };
  try {
    const db = await snapshotDatabase(ws, scratch, add);
    let blobs = 0;
    let total = 0;
    let done = 0;
    if (options.onProgress) for await (const info of ws.blobs.list()) total += info.size;
    for await (const info of ws.blobs.list()) {
      await add(blobEntry(info.sha256), info.size, await ws.blobs.get(info.sha256));
      const written = entries[entries.length - 1];
      if (written?.sha256 !== info.sha256)
        throw new IntegrityError(`blob ${info.sha256} does not hash to its key; the backup stops here`);
      blobs++;
      done += info.size;
      // A blob stored since the counting pass grows the total rather than passing 100%.
      total = Math.max(total, done);
      options.onProgress?.(done, total);
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: 1,
      createdAt: new Date().toISOString(),
      backend: ws.store.dialect.name,
      tables: db.tables,
      blobs,
      auditHead: db.auditHead,
      auditKeyFingerprint: auditKeyFingerprint(options.auditKey),
      entries,
    };
    const text = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
    await tar.add(MANIFEST_NAME, text.length, text);
    await tar.close();
    fs.renameSync(partial, target);
    await inTransaction(ws.store.db, (tx) =>
      ws.audit.append(tx, {
        actor: options.actor,
        action: 'workspace.backed_up',
        entityType: 'workspace',
        entityId: 'workspace',
        details: {
          file: path.basename(target),
          backend: manifest.backend,
          blobs,
          auditHeadSeq: manifest.auditHead?.seq ?? 0,
        },
        after: manifest,
      }),
    );
    return { file: target, manifest, bytes: fs.statSync(target).size };
  } catch (err) {
    await tar.abort();
    throw err;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

async function snapshotDatabase(
  ws: Workspace,
  scratch: string,
  add: Adder,
): Promise<{ tables: BackupManifest['tables']; auditHead: BackupManifest['auditHead'] }> {
  const { store } = ws;
  if (store.dialect.name === 'sqlite') {
    const source = sqliteFileOf(store);
    if (!source)
      throw new ValidationError('an in-memory database has nothing on disk to back up', {
        field: 'database',
      });
    const copy = path.join(scratch, 'sextant.sqlite');
    const conn = openSqliteConnection(source);
    try {
      await conn.backup(copy);
    } finally {
      conn.close();
    }
    // The head is read from the copy itself: the entries the snapshot holds, not the live file's.
    const auditHead = await findSqliteFileAuditHead(copy);
    await add(SQLITE_ENTRY, fs.statSync(copy).size, fs.createReadStream(copy));
    return { tables: [], auditHead };
  }
  // One snapshot for every table: REPEATABLE READ sees the database as of its first read.
  const dumped = await store.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (tx) => {
      const tables: BackupManifest['tables'] = [];
      for (const name of await tablesInDependencyOrder(tx, store)) {
        const out = path.join(scratch, `${name}.jsonl`);
        const stream = fs.createWriteStream(out);
        let rows = 0;
        for await (const batch of readTableRows(tx, store, name)) {
          for (const row of batch) {
            if (!stream.write(`${encodeRow(row)}\n`)) await once(stream, 'drain');
          }
          rows += batch.length;
        }
        stream.end();
        await once(stream, 'finish');
        tables.push({ name, rows });
      }
      return { tables, auditHead: await findAuditHead(tx) };
    });
  for (const t of dumped.tables) {
    const out = path.join(scratch, `${t.name}.jsonl`);
    await add(tableEntry(t.name), fs.statSync(out).size, fs.createReadStream(out));
  }
  return dumped;
}
