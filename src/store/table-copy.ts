import { sql } from 'kysely';
import type { Executor, Store } from './database.js';

/*
 * A logical copy of the database, table by table, for backups of PostgreSQL and for moving a
 * workspace between stores. Tables come in foreign-key order (a parent before its children), read from
 * the database's own catalogue, so a table a later migration adds is copied without a list to update.
 * The migrator's bookkeeping tables are not data: the target's own migrator writes them.
 */

/** Rows are read and written this many at a time. */
const BATCH = 500;
/** PostgreSQL takes at most 65,535 parameters per statement. */
const MAX_PARAMS = 60_000;

type Row = Record<string, unknown>;

const isData = (name: string) => !name.startsWith('kysely_') && !name.startsWith('sqlite_');

/** The data tables of the store, each after the tables its foreign keys point at. */
export async function tablesInDependencyOrder(
  db: Executor,
  store: Pick<Store, 'dialect'>,
): Promise<string[]> {
  const names: string[] = [];
  const parents = new Map<string, Set<string>>();
  if (store.dialect.name === 'sqlite') {
    const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(
      db,
    );
    for (const { name } of tables.rows.filter((t) => isData(t.name))) {
      names.push(name);
      const fks = await sql<{ table: string }>`select "table" from pragma_foreign_key_list(${name})`.execute(
        db,
      );
      parents.set(name, new Set(fks.rows.map((r) => r.table)));
    }
  } else {
    const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(db);
    for (const { name } of tables.rows.filter((t) => isData(t.name))) names.push(name);
    const fks = await sql<{ child: string; parent: string }>`select c.relname as child, p.relname as parent
      from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid
      where k.contype = 'f' and c.relnamespace = current_schema()::regnamespace`.execute(db);
    for (const { child, parent } of fks.rows) {
      if (!parents.has(child)) parents.set(child, new Set());
      parents.get(child)?.add(parent);
    }
  }
  const order: string[] = [];
  const placed = new Set<string>();
  const visit = (name: string, path: Set<string>) => {
    if (placed.has(name) || path.has(name)) return;
    path.add(name);
    for (const p of [...(parents.get(name) ?? [])].sort())
      if (p !== name && names.includes(p)) visit(p, path);
    placed.add(name);
    order.push(name);
  };
  for (const name of names.sort()) visit(name, new Set());
  return order;
}

/** Rows of a table, a batch at a time. Run it inside a transaction to read one consistent snapshot. */
export async function* readTableRows(
  tx: Executor,
  store: Pick<Store, 'dialect'>,
  table: string,
): AsyncIterable<Row[]> {
  if (store.dialect.name === 'sqlite') {
    for (let after = 0; ; ) {
      const page = await sql<Row & { __rowid: number }>`select rowid as __rowid, * from ${sql.table(table)}
        where rowid > ${after} order by rowid limit ${BATCH}`.execute(tx);
      if (page.rows.length === 0) return;
      after = Number(page.rows[page.rows.length - 1]?.__rowid);
      yield page.rows.map(({ __rowid: _, ...row }) => row);
    }
  }
  // A cursor reads the transaction's snapshot without holding the whole table in memory.
  const cursor = sql.id(`copy_${table}`);
  await sql`declare ${cursor} no scroll cursor for select * from ${sql.table(table)}`.execute(tx);
  try {
    for (;;) {
      const page = await sql<Row>`fetch ${sql.raw(String(BATCH))} from ${cursor}`.execute(tx);
      if (page.rows.length === 0) return;
      yield page.rows;
    }
  } finally {
    await sql`close ${cursor}`.execute(tx);
  }
}

/** Inserts rows into a table, as many per statement as the parameter limit allows. */
export async function insertTableRows(tx: Executor, table: string, rows: Row[]): Promise<void> {
  const width = Math.max(1, Object.keys(rows[0] ?? {}).length);
  const per = Math.max(1, Math.floor(MAX_PARAMS / width));
  for (let i = 0; i < rows.length; i += per) {
    // The table name comes from the catalogue, not from input; the rows from the same schema.
    await tx
      .insertInto(table as never)
      .values(rows.slice(i, i + per) as never)
      .execute();
  }
}

/** How many rows a table holds. */
export async function countTableRows(tx: Executor, table: string): Promise<number> {
  const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(tx);
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * PostgreSQL's serial columns draw from sequences an explicit insert does not move: after a copy each
 * is set past the largest id copied, so the next insert does not collide. SQLite needs nothing.
 */
export async function resetSequences(tx: Executor, store: Pick<Store, 'dialect'>): Promise<void> {
  if (store.dialect.name === 'sqlite') return;
  const cols = await sql<{ table_name: string; column_name: string }>`select table_name, column_name
    from information_schema.columns where table_schema = current_schema() and column_default like 'nextval(%'`.execute(
    tx,
  );
  for (const { table_name, column_name } of cols.rows) {
    await sql`select setval(pg_get_serial_sequence(${table_name}, ${column_name}),
      coalesce((select max(${sql.ref(column_name)}) from ${sql.table(table_name)}), 0) + 1, false)`.execute(
      tx,
    );
  }
}

/** Empties every data table (restore --force onto PostgreSQL); one statement, so foreign keys hold. */
export async function truncateDataTables(tx: Executor, tables: string[]): Promise<void> {
  if (tables.length === 0) return;
  await sql`truncate ${sql.join(tables.map((t) => sql.table(t)))} restart identity cascade`.execute(tx);
}
