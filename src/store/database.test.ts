import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, describeEachBackend } from '../../test/support/backends.js';
import { inTransaction, openStore } from './index.js';

describeEachBackend('store', (get) => {
  it('creates the default experiment "0" that MLflow clients log to', async () => {
    const row = await get()
      .db.selectFrom('experiments')
      .selectAll()
      .where('id', '=', 0)
      .executeTakeFirstOrThrow();
    expect(row.name).toBe('Default');
  });

  it('reads bigint milliseconds back as numbers', async () => {
    const row = await get().db.selectFrom('experiments').select('created_at').executeTakeFirstOrThrow();
    expect(typeof row.created_at).toBe('number');
  });

  it('rolls back every write of a failed transaction', async () => {
    const db = get().db;
    await expect(
      inTransaction(db, async (tx) => {
        await tx
          .insertInto('users')
          .values({ id: 'usr_rollback', name: 'rollback', role: 'viewer', created_at: 1 })
          .execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const found = await db
      .selectFrom('users')
      .select('id')
      .where('id', '=', 'usr_rollback')
      .executeTakeFirst();
    expect(found).toBeUndefined();
  });

  it('migrating again is a no-op', async () => {
    const again = await openStore(get().url);
    const n = await sql<{ n: number }>`select count(*) as n from experiments`.execute(again.db);
    expect(Number(n.rows[0]?.n)).toBe(1);
    await again.close();
  });
});

// PostgreSQL only: a SQLite file has no server that could close a connection.
describeEachBackend(
  'store on a server that closes idle connections',
  (get) => {
    it('survives the server terminating an idle pooled connection, and queries again', async () => {
      const store = get();
      const pid = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db);
      const other = await openStore(store.url);
      try {
        await sql`select pg_terminate_backend(${pid.rows[0]?.pid})`.execute(other.db);
        // Unhandled, the idle client's error would crash the process (and fail this run) right here.
        await new Promise((r) => setTimeout(r, 200));
        const n = await sql<{ n: number }>`select 1 as n`.execute(store.db);
        expect(Number(n.rows[0]?.n)).toBe(1);
      } finally {
        await other.close();
      }
    });
    it('reads doubles back exactly even where the database rounds float output (extra_float_digits 0)', async () => {
      const store = get();
      const name = new URL(store.url).pathname.slice(1);
      await sql`alter database ${sql.id(name)} set extra_float_digits = 0`.execute(store.db);
      const fresh = await openStore(store.url);
      try {
        const r = await sql<{ x: number; j: string }>`select (0.1::float8 + 0.2::float8) as x,
          to_json(1::float8 / 3)::text as j`.execute(fresh.db);
        expect(Number(r.rows[0]?.x)).toBe(0.1 + 0.2);
        expect(Number(r.rows[0]?.j)).toBe(1 / 3);
      } finally {
        await fresh.close();
      }
    });
  },
  ['postgres'],
);

describe('migrations under concurrent starts', () => {
  for (const backend of ['sqlite', 'postgres'] as const) {
    it(`four processes migrating one fresh ${backend} database all succeed`, async (ctx) => {
      if (backend === 'postgres') {
        const { serviceAvailable } = await import('../../test/support/services.js');
        const { postgresUrl } = await import('../../test/support/services.js');
        if (!(await serviceAvailable('postgres', postgresUrl, 5432))) return ctx.skip();
      }
      const t = await createTestDatabase(backend);
      try {
        const script = `import { openStore } from './src/store/index.ts';
          const s = await openStore(process.argv[1]); await s.close();`;
        const codes = await Promise.all(
          Array.from({ length: 4 }, () =>
            runNode(['--import', 'tsx', '--input-type=module', '-e', script, t.url]),
          ),
        );
        expect(codes).toEqual([0, 0, 0, 0]);
        const store = await openStore(t.url);
        const rows = await store.db.selectFrom('experiments').select('id').execute();
        expect(rows).toHaveLength(1);
        await store.close();
      } finally {
        await t.drop();
      }
    });
  }
});

function runNode(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

describe('the SQLite file', () => {
  it.runIf(process.platform !== 'win32')(
    'is created readable by its owner only, and an existing world-readable one is narrowed',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-mode-'));
      const previous = process.umask(0o022);
      try {
        const fresh = path.join(dir, 'new', 'sextant.db');
        const store = await openStore(`sqlite:${fresh}`);
        await store.db.selectFrom('experiments').select('id').execute();
        for (const f of [fresh, `${fresh}-wal`]) expect(fs.statSync(f).mode & 0o777, f).toBe(0o600);
        expect(fs.statSync(path.dirname(fresh)).mode & 0o777).toBe(0o700);
        await store.close();

        const old = path.join(dir, 'old.db');
        fs.writeFileSync(old, '');
        fs.chmodSync(old, 0o644);
        const reopened = await openStore(`sqlite:${old}`);
        expect(fs.statSync(old).mode & 0o777).toBe(0o600);
        await reopened.close();
      } finally {
        process.umask(previous);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
