import { z } from 'zod';
import { hmacSha256Hex } from '../../core/hashing.js';

/*
 * The manifest of a backup archive (`manifest.json`, its last entry): what is inside, with a sha256
 * per entry, and the audit head the database snapshot ends at. Restore checks every digest against it
 * before it touches the target, and the restored chain's head against `auditHead`.
 */

export const BACKUP_FORMAT = 'sextant-backup';
export const MANIFEST_NAME = 'manifest.json';
/** The SQLite snapshot inside an archive of a SQLite workspace. */
export const SQLITE_ENTRY = 'database/sextant.sqlite';
/** One JSON-lines file per table inside an archive of a PostgreSQL workspace. */
export const tableEntry = (table: string) => `database/tables/${table}.jsonl`;
export const blobEntry = (sha256: string) => `blobs/${sha256}`;

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(1),
  createdAt: z.string(),
  backend: z.enum(['sqlite', 'postgres']),
  /** Tables of a logical (PostgreSQL) export, parents first, with their row counts. */
  tables: z.array(z.object({ name: z.string(), rows: z.number().int().min(0) })),
  blobs: z.number().int().min(0),
  auditHead: z.object({ seq: z.number().int().min(0), hash: z.string() }).nullable(),
  /** Which audit key the chain was signed with (an HMAC of a constant, not the key). */
  auditKeyFingerprint: z.string(),
  entries: z.array(z.object({ name: z.string(), size: z.number().int().min(0), sha256: z.string() })),
});
export type BackupManifest = z.infer<typeof manifestSchema>;

/** Names the audit key without revealing it: equal fingerprints, equal keys. */
export function auditKeyFingerprint(key: string): string {
  return hmacSha256Hex(key, 'sextant-audit-key-fingerprint').slice(0, 16);
}

/** The backend a database URL names. */
export function backendOf(databaseUrl: string): 'sqlite' | 'postgres' {
  return databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgres';
}

/*
 * Table rows travel as JSON lines. JSON has no NaN or infinities, which metric values may hold, so
 * non-finite numbers are tagged objects (no column holds an object: JSON columns are text).
 */
export function encodeRow(row: Record<string, unknown>): string {
  return JSON.stringify(row, (_k, v) =>
    typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v,
  );
}

export function decodeRow(line: string): Record<string, unknown> {
  return JSON.parse(line, (_k, v) =>
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    typeof v.$num === 'string' &&
    Object.keys(v).length === 1
      ? Number(v.$num)
      : v,
  ) as Record<string, unknown>;
}
