import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
  type SqliteStatement,
  sql,
  type Transaction,
} from 'kysely';
import { ValidationError } from '../core/errors.js';
import { lazyRequire } from '../core/lazy-require.js';
import { type Dialect, postgresDialect, sqliteDialect } from './dialect.js';
import { foundationMigration } from './migrations/001-foundation.js';
import { dataMigration } from './migrations/002-data.js';
import { registryMigration } from './migrations/003-registry.js';
import { webhooksMigration } from './migrations/004-webhooks.js';
import { dataQualityMigration } from './migrations/005-data-quality.js';
import { servingMigration } from './migrations/006-serving.js';
import { jobsMigration } from './migrations/007-jobs.js';
import { eventsMigration } from './migrations/008-events.js';
import { tokenOriginAndCheckpointChainMigration } from './migrations/009-token-origin.js';
import { deploymentRuntimesMigration } from './migrations/010-deployment-runtimes.js';
import { modelBindingMigration } from './migrations/011-model-binding.js';
import { sweepBoardMigration } from './migrations/012-sweep-board.js';
import { loggedModelsMigration } from './migrations/013-logged-models.js';
import { monitorsMigration } from './migrations/014-monitors.js';
import { alertsMigration } from './migrations/015-alerts.js';
import { pipelinesMigration } from './migrations/016-pipelines.js';
import { triggersMigration } from './migrations/017-triggers.js';
import { costMigration } from './migrations/018-cost.js';
import { budgetsMigration } from './migrations/019-budgets.js';
import { monitoringStateMigration } from './migrations/020-monitoring-state.js';
import { costStorageMigration } from './migrations/022-cost-storage.js';
import { runtimeRequestCountsMigration } from './migrations/023-runtime-request-counts.js';
import { gatewayFailuresMigration } from './migrations/025-gateway-failures.js';
import { loggedModelFilesMigration } from './migrations/027-logged-model-files.js';
import { predictionSegmentsMigration } from './migrations/028-prediction-segments.js';
import { metricSurrogateKeysMigration } from './migrations/029-metric-surrogate-keys.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Anything a repository function can run a query on: the database or an open transaction. */
export type Executor = Db | Tx;

export interface Store {
  db: Db;
  dialect: Dialect;
  url: string;
  close(): Promise<void>;
}

const pgModule = lazyRequire<typeof import('pg')>('pg');

/** pg, loaded with the first PostgreSQL store (a SQLite workspace never loads it). */
function loadPg(): typeof import('pg') {
  const pg = pgModule();
  // bigint (int8) columns hold epoch milliseconds and counters, all well inside 2^53.
  pg.types.setTypeParser(20, (v) => Number(v));
  return pg;
}

/*
 * Transactions on SQLite begin IMMEDIATE: the write lock is taken up front, so two processes sharing
 * the file wait on busy_timeout instead of failing with SQLITE_BUSY when a reader upgrades to a writer.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/*
 * SQLite runs DDL inside transactions, but Kysely's adapter says it does not, so its migrator would run
 * each migration bare and take no lock (SQLite's adapter lock is a no-op). Saying yes makes the migrator
 * run the whole batch in one IMMEDIATE transaction: concurrent starts queue on the write lock, each reads
 * the applied list only once it holds the lock, and a crash mid-migration leaves nothing half-applied.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

const STATEMENT_CACHE_SIZE = 500;

/*
 * Kysely prepares every query anew; preparing a 3,000-parameter INSERT costs more than running it.
 * Statements are reusable because Kysely's SQLite driver runs one query at a time on its connection.
 */
function withStatementCache(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare: (text: string) => {
      let stmt = cache.get(text);
      if (stmt) {
        // Re-insert to keep the map in least-recently-used order.
        cache.delete(text);
      } else {
        stmt = sqlite.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(text, stmt);
      return stmt as unknown as SqliteStatement;
    },
  };
}

/**
 * A connection to a SQLite file with the store's settings. The store opens its own with it, and so does
 * any hot-path writer thread (the prediction ledger's), so every connection to one file behaves alike.
 */
export function openSqliteConnection(file: string): BetterSqlite3.Database {
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before it is acknowledged, across power loss too, not just a crash.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  return sqlite;
}

/**
 * The file a second connection to this store can open (a writer thread), or undefined where there is
 * none: PostgreSQL (use the pool) and in-memory SQLite (no other connection can see it).
 */
export function sqliteFileOf(store: Store): string | undefined {
  if (store.dialect.name !== 'sqlite') return undefined;
  const file = store.url.slice('sqlite:'.length);
  return file === ':memory:' || file === '' ? undefined : path.resolve(file);
}

export interface OpenStoreOptions {
  /** Pool size for PostgreSQL. */
  poolSize?: number;
  /** Run migrations to the latest version (default true). */
  migrate?: boolean;
}

/** Opens the database named by a URL (`sqlite:<path>`, `sqlite::memory:` or `postgres://...`) and migrates it. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const store = createStore(url, options);
  if (options.migrate !== false) {
    try {
      await migrateToLatest(store);
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}

/**
 * The database holds users, token hashes, webhook secrets and every prediction: only its owner may read
 * it. A new file (and a new folder for it) is created owner-only; an existing one that others could read
 * is narrowed to 0600 with its WAL and shared-memory files. SQLite gives the -wal and -shm files it
 * creates the main file's mode.
 */
function keepPrivate(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  if (process.platform === 'win32') return;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if ((fs.statSync(f).mode & 0o077) !== 0) fs.chmodSync(f, 0o600);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
    }
  }
}

function createStore(url: string, options: OpenStoreOptions): Store {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') keepPrivate(file);
    const sqlite = openSqliteConnection(file);
    const db = new Kysely<Database>({
      dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }),
    });
    return { db, dialect: sqliteDialect, url, close: () => db.destroy() };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new (loadPg().Pool)({ connectionString: url, max: options.poolSize ?? 10 });
    // An idle pooled connection that the server closes (restart, failover, an admin's terminate) emits
    // 'error' on the pool; unhandled, that would crash the process. The pool has already dropped that
    // client and opens a fresh one on the next query, and queries in flight get their own errors.
    pool.on('error', () => {});
    // Doubles travel as text: extra_float_digits 1 (PostgreSQL 12's default) writes each in its
    // shortest exact form, whatever a role or database sets (0 or less would round them to 15 digits).
    pool.on('connect', (client) => {
      client.query('SET extra_float_digits = 1').catch(() => {});
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: postgresDialect, url, close: () => db.destroy() };
  }
  throw new ValidationError(`SEXTANT_DATABASE_URL: unsupported database URL '${redactUrl(url)}'`, {
    field: 'SEXTANT_DATABASE_URL',
  });
}

/** Hides a password in a connection URL before it is shown. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

function migrationsFor(dialect: Dialect): Record<string, Migration> {
  return {
    '001-foundation': foundationMigration(dialect),
    '002-data': dataMigration(dialect),
    '003-registry': registryMigration(dialect),
    '004-webhooks': webhooksMigration(dialect),
    '005-data-quality': dataQualityMigration(dialect),
    '006-serving': servingMigration(dialect),
    '007-jobs': jobsMigration(dialect),
    '008-events': eventsMigration(dialect),
    '009-token-origin': tokenOriginAndCheckpointChainMigration(dialect),
    '010-deployment-runtimes': deploymentRuntimesMigration(dialect),
    '011-model-binding': modelBindingMigration(dialect),
    '012-sweep-board': sweepBoardMigration(dialect),
    '013-logged-models': loggedModelsMigration(dialect),
    '014-monitors': monitorsMigration(dialect),
    '015-alerts': alertsMigration(dialect),
    '016-pipelines': pipelinesMigration(dialect),
    '017-triggers': triggersMigration(dialect),
    '018-cost': costMigration(dialect),
    '019-budgets': budgetsMigration(dialect),
    '020-monitoring-state': monitoringStateMigration(dialect),
    '022-cost-storage': costStorageMigration(dialect),
    '023-runtime-request-counts': runtimeRequestCountsMigration(dialect),
    '025-gateway-failures': gatewayFailuresMigration(dialect),
    '027-logged-model-files': loggedModelFilesMigration(dialect),
    '028-prediction-segments': predictionSegmentsMigration(dialect),
    '029-metric-surrogate-keys': metricSurrogateKeysMigration(dialect),
  };
}

/**
 * Brings the schema to the latest version. Safe when several processes start at once: PostgreSQL
 * serialises through Kysely's advisory lock, SQLite through the batch's IMMEDIATE transaction; a
 * start that still loses a race (creating the migration tables) retries and finds nothing left to do. Migrations may run out of name order: each one only adds its own
 * tables and columns, and domains developed side by side land their migrations in either order.
 */
export async function migrateToLatest(store: Store): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(store.dialect) };
  const migrator = new Migrator({ db: store.db, provider, allowUnorderedMigrations: true });
  for (let attempt = 0; ; attempt++) {
    const { error } = await migrator.migrateToLatest();
    if (!error) return;
    const busy = String((error as { code?: string }).code ?? '').startsWith('SQLITE_BUSY');
    const raced = /already exists|duplicate key|duplicate column/i.test(String((error as Error).message));
    if ((busy || raced) && attempt < 20) {
      await new Promise((r) => setTimeout(r, 50 + attempt * 50));
      continue;
    }
    throw error;
  }
}

/** Runs fn in one transaction: every write inside, the audit entry included, commits or none does. */
export function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(fn);
}

/** True when the database answers a trivial query (readiness checks). */
export async function pingStore(store: Store): Promise<boolean> {
  try {
    await sql`select 1`.execute(store.db);
    return true;
  } catch {
    return false;
  }
}
