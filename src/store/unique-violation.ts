/**
 * A unique-index or primary-key violation on either backend: what a lost race for a name or a
 * duplicate insert looks like. PostgreSQL says 23505; better-sqlite3 gives SQLITE_CONSTRAINT_* codes
 * (and the message, when the code is lost on the way).
 */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    /UNIQUE constraint failed/i.test(String(e?.message ?? ''))
  );
}
