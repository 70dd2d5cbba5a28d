import { Kysely, SqliteDialect } from 'kysely';
import { type Database, type Executor, openSqliteConnection } from '../../store/index.js';

/* The two reads backup and restore need from the audit tables directly: the head, and whether any entry exists. */

/** The newest audit entry's seq and hash; null on an empty log. */
export async function findAuditHead(tx: Executor): Promise<{ seq: number; hash: string } | null> {
  const row = await tx
    .selectFrom('audit_entries')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), hash: row.hash } : null;
}

/** How many audit entries the log holds: every change writes one, so zero means an empty workspace. */
export async function countAuditEntries(tx: Executor): Promise<number> {
  const row = await tx
    .selectFrom('audit_entries')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The audit head of a SQLite file on its own (a snapshot copy, not the live database). */
export async function findSqliteFileAuditHead(file: string): Promise<{ seq: number; hash: string } | null> {
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: openSqliteConnection(file) }) });
  try {
    return await findAuditHead(db);
  } finally {
    await db.destroy();
  }
}
