import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import { postgresUrl, serviceAvailable } from './services.js';

export type BackendName = 'sqlite' | 'postgres';

const pgAvailable = serviceAvailable('postgres', postgresUrl, 5432);

/** A fresh, migrated database of the given backend; drop() removes it (PostgreSQL keeps state between runs). */
export async function createTestDatabase(
  backend: BackendName,
): Promise<{ url: string; drop(): Promise<void> }> {
  if (backend === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-test-'));
    return {
      url: `sqlite:${path.join(dir, 'test.db')}`,
      drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `sextant_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(postgresUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: postgresUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/**
 * Runs the same suite on SQLite and on PostgreSQL. `get()` returns the migrated store of the backend
 * being tested; each backend gets its own new database. PostgreSQL is skipped with a visible reason when
 * no server answers (and fails when SEXTANT_REQUIRE_SERVICES=1).
 */
export function describeEachBackend(
  title: string,
  suite: (get: () => Store, backend: BackendName) => void,
  backends: readonly BackendName[] = ['sqlite', 'postgres'],
): void {
  for (const backend of backends) {
    describe(`${title} [${backend}]`, async () => {
      const enabled = backend === 'sqlite' || (await pgAvailable);
      if (!enabled) {
        describe.skip('postgres unavailable', () => suite(() => undefined as never, backend));
        return;
      }
      let store: Store | undefined;
      let drop: (() => Promise<void>) | undefined;
      beforeAll(async () => {
        const t = await createTestDatabase(backend);
        drop = t.drop;
        store = await openStore(t.url);
      });
      afterAll(async () => {
        await store?.close();
        await drop?.();
      });
      suite(() => {
        if (!store) throw new Error('store not ready');
        return store;
      }, backend);
    });
  }
}
