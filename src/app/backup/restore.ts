import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { AuditVerifyResult } from '../../audit/index.js';
import { resolveAuditKey, workspaceWitnessFile } from '../../audit/index.js';
import { createBlobStore } from '../../blobs/index.js';
import type { Config } from '../../core/config.js';
import { ConflictError, IntegrityError, ValidationError } from '../../core/errors.js';
import {
  insertTableRows,
  inTransaction,
  openStore,
  resetSequences,
  type Store,
  tablesInDependencyOrder,
  truncateDataTables,
} from '../../store/index.js';
import { openWorkspace } from '../services.js';
import { countAuditEntries, findAuditHead } from './backup.repo.js';
import {
  auditKeyFingerprint,
  type BackupManifest,
  backendOf,
  blobEntry,
  decodeRow,
  MANIFEST_NAME,
  manifestSchema,
  SQLITE_ENTRY,
  tableEntry,
} from './manifest.js';
import { digestTarEntry, readTarEntry, readTarIndex, type TarEntry } from './tar-archive.js';

/*
 * `sextant restore <file>`: the archive is checked whole before the target is touched (every entry
 * against the manifest's sha256, the audit key against the one the chain was signed with), the target
 * must be empty (no audit entry, no blob) unless --force, and the restored workspace must pass
 * `audit verify --deep` with the archive's head, plus the restore's own entry on top of it.
 */

export interface RestoreResult {
  manifest: BackupManifest;
  blobsWritten: number;
  verify: AuditVerifyResult;
}

const BATCH = 500;

/** Restores an archive into the workspace a Config names. */
export async function restoreWorkspace(
  config: Config,
  file: string,
  options: {
    force: boolean;
    actor: string;
    /** Blob bytes restored so far (blobs already present count as done) and in all. */
    onProgress?: ((bytes: number, total: number) => void) | undefined;
  },
): Promise<RestoreResult> {
  const { manifest, index } = await checkArchive(file);
  const backend = backendOf(config.databaseUrl);
  if (manifest.backend !== backend)
    throw new ValidationError(
      `${file} holds a ${manifest.backend} database and this workspace is on ${backend}: restore it into a ${manifest.backend} workspace (then \`sextant store migrate\` moves it)`,
      { field: 'file' },
    );
  const keyFile = path.join(config.home, 'audit.key');
  if (!config.auditKey && !fs.existsSync(keyFile))
    throw new ValidationError(
      `the audit chain in ${file} is signed with its workspace's audit key: copy that audit.key to ${keyFile} (or set SEXTANT_AUDIT_KEY), then restore`,
      { field: 'audit key' },
    );
  const auditKey = resolveAuditKey(config.home, config.auditKey);
  if (auditKeyFingerprint(auditKey) !== manifest.auditKeyFingerprint)
    throw new ValidationError(
      `this workspace's audit key is not the one ${file} was signed with (fingerprint ${auditKeyFingerprint(auditKey)}, the backup's ${manifest.auditKeyFingerprint})`,
      { field: 'audit key' },
    );

  const blobs = createBlobStore(config.blobUrl, { s3: config.s3 });
  let blobsWritten = 0;
  try {
    const store = await openStore(config.databaseUrl);
    try {
      const entries = await countAuditEntries(store.db);
      const hasBlobs = !(await blobs.list()[Symbol.asyncIterator]().next()).done;
      if ((entries > 0 || hasBlobs) && !options.force)
        throw new ConflictError(
          `the target workspace is not empty (${entries} audit entries${hasBlobs ? ', blobs stored' : ''}); --force replaces its database`,
          { field: '--force' },
        );
      if (backend === 'postgres') await importTables(store, file, manifest, index);
    } finally {
      await store.close();
    }
    if (backend === 'sqlite') replaceSqliteFile(config.databaseUrl, file, entryNamed(index, SQLITE_ENTRY));
    const blobEntries = index.filter((e) => e.name.startsWith('blobs/'));
    const total = blobEntries.reduce((n, e) => n + e.size, 0);
    let done = 0;
    for (const e of blobEntries) {
      const sha = e.name.slice('blobs/'.length);
      if (!(await blobs.has(sha))) {
        const info = await blobs.put(readTarEntry(file, e));
        if (info.sha256 !== sha) throw new IntegrityError(`${e.name} changed while it was restored`);
        blobsWritten++;
      }
      done += e.size;
      options.onProgress?.(done, total);
    }
  } finally {
    await blobs.close();
  }
  // The restored head is now the furthest this workspace has known; the old witness would call it a rollback.
  fs.rmSync(workspaceWitnessFile(config.home, config.databaseUrl), { force: true });
  return { manifest, blobsWritten, verify: await verifyRestored(config, file, manifest, options.actor) };
}

/** Reads the manifest and checks every entry's digest; nothing is written before this passes. */
async function checkArchive(file: string): Promise<{ manifest: BackupManifest; index: TarEntry[] }> {
  if (!fs.existsSync(file)) throw new ValidationError(`${file}: no such file`, { field: 'file' });
  const index = await readTarIndex(file);
  const chunks: Buffer[] = [];
  for await (const c of readTarEntry(file, entryNamed(index, MANIFEST_NAME))) chunks.push(c as Buffer);
  const parsed = manifestSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
  if (!parsed.success)
    throw new ValidationError(`${file}: the manifest is not a Sextant backup manifest`, { field: 'file' });
  const manifest = parsed.data;
  const listed = new Map(manifest.entries.map((e) => [e.name, e]));
  for (const e of index) {
    if (e.name === MANIFEST_NAME) continue;
    const want = listed.get(e.name);
    if (!want) throw new IntegrityError(`${file}: ${e.name} is not in the manifest`);
    listed.delete(e.name);
    const got = await digestTarEntry(file, e);
    if (got !== want.sha256 || e.size !== want.size)
      throw new IntegrityError(`${file}: ${e.name} does not match its manifest digest (damaged archive)`);
    if (e.name.startsWith('blobs/') && e.name !== blobEntry(got))
      throw new IntegrityError(`${file}: ${e.name} does not hash to its name`);
  }
  if (listed.size > 0)
    throw new IntegrityError(
      `${file}: missing ${[...listed.keys()].slice(0, 3).join(', ')} (truncated archive?)`,
    );
  return { manifest, index };
}

function entryNamed(index: TarEntry[], name: string): TarEntry {
  const e = index.find((x) => x.name === name);
  if (!e) throw new IntegrityError(`the archive has no ${name}`);
  return e;
}

/** Puts the snapshot in place of the database file (written beside it, then renamed over it). */
function replaceSqliteFile(databaseUrl: string, file: string, entry: TarEntry): void {
  const target = path.resolve(databaseUrl.slice('sqlite:'.length));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.restoring`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    const buf = Buffer.alloc(1 << 20);
    const src = fs.openSync(file, 'r');
    try {
      for (let done = 0; done < entry.size; ) {
        const n = fs.readSync(src, buf, 0, Math.min(buf.length, entry.size - done), entry.offset + done);
        fs.writeSync(fd, buf, 0, n);
        done += n;
      }
    } finally {
      fs.closeSync(src);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  // The old file's journal belongs to the old file: left beside the new one it would be replayed into it.
  for (const suffix of ['-wal', '-shm']) fs.rmSync(`${target}${suffix}`, { force: true });
  fs.renameSync(tmp, target);
}

/** Loads the logical export in one transaction, parents first; --force has emptied the tables first. */
async function importTables(store: Store, file: string, manifest: BackupManifest, index: TarEntry[]) {
  await inTransaction(store.db, async (tx) => {
    const present = await tablesInDependencyOrder(tx, store);
    await truncateDataTables(tx, present);
    for (const t of manifest.tables) {
      if (!present.includes(t.name))
        throw new ValidationError(`the backup's table ${t.name} does not exist in this version's schema`, {
          field: 'file',
        });
      const lines = readline.createInterface({
        input: readTarEntry(file, entryNamed(index, tableEntry(t.name))),
      });
      let batch: Record<string, unknown>[] = [];
      let rows = 0;
      for await (const line of lines) {
        if (!line) continue;
        batch.push(decodeRow(line));
        if (batch.length >= BATCH) {
          await insertTableRows(tx, t.name, batch);
          rows += batch.length;
          batch = [];
        }
      }
      if (batch.length > 0) await insertTableRows(tx, t.name, batch);
      rows += batch.length;
      if (rows !== t.rows)
        throw new IntegrityError(`${t.name}: ${rows} rows in the archive, the manifest says ${t.rows}`);
    }
    await resetSequences(tx, store);
  });
}

/** Opens the restored workspace, records the restore, and verifies the whole chain and the governed tables. */
async function verifyRestored(
  config: Config,
  file: string,
  manifest: BackupManifest,
  actor: string,
): Promise<AuditVerifyResult> {
  const ws = await openWorkspace(config);
  try {
    const head = await findAuditHead(ws.store.db);
    if ((head?.seq ?? 0) !== (manifest.auditHead?.seq ?? 0) || head?.hash !== manifest.auditHead?.hash)
      throw new IntegrityError(
        `the restored audit head (${head?.seq ?? 0}) is not the archive's (${manifest.auditHead?.seq ?? 0})`,
      );
    await inTransaction(ws.store.db, (tx) =>
      ws.audit.append(tx, {
        actor,
        action: 'workspace.restored',
        entityType: 'workspace',
        entityId: 'workspace',
        details: { file: path.basename(file), backend: manifest.backend, createdAt: manifest.createdAt },
        after: manifest,
      }),
    );
    const verify = await ws.audit.verify({ deep: true });
    if (!verify.ok)
      throw new IntegrityError(
        `the restored audit chain does not verify: ${verify.problems[0]?.message ?? ''}`,
        {
          problems: verify.problems,
        },
      );
    return verify;
  } finally {
    await ws.close();
  }
}
