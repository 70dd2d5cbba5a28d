import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SextantApi } from '../../src/client/api.js';
import { createHttpClient } from '../../src/client/index.js';
import { type BackendName, createTestDatabase } from '../support/backends.js';
import { startReceiver } from '../support/http-receiver.js';
import { postgresUrl, serviceAvailable } from '../support/services.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * Two real `sextant server` processes on one database and one blob folder, as two replicas behind a
 * load balancer: changes made through either reach a webhook exactly once, although both servers
 * deliver events and both work the system queue.
 */

const bin = path.resolve('bin/sextant.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ServerProcess {
  child: ChildProcess;
  url: string;
}

function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [bin, 'server', '--port', '0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 60_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m?.[1]) {
        clearTimeout(deadline);
        resolve({ child, url: m[1] });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(deadline);
      reject(new Error(`server exited (${code}): ${err}`));
    });
  });
}

function stop(p: ServerProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null) return resolve();
    p.child.once('exit', () => resolve());
    p.child.kill('SIGTERM');
  });
}

const pgAvailable = serviceAvailable('postgres', postgresUrl, 5432);

for (const backend of ['sqlite', 'postgres'] as BackendName[]) {
  describe(`two sextant server processes on one ${backend} database`, async () => {
    if (backend === 'postgres' && !(await pgAvailable)) {
      it.skip('postgres unavailable', () => {});
      return;
    }
    let db: Awaited<ReturnType<typeof createTestDatabase>>;
    let home: string;
    let servers: ServerProcess[] = [];
    let clients: SextantApi[] = [];

    beforeAll(async () => {
      db = await createTestDatabase(backend);
      home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-servers-'));
      const env = {
        SEXTANT_HOME: home,
        SEXTANT_DATABASE_URL: db.url,
        SEXTANT_BLOB_URL: `file:${path.join(home, 'blobs')}`,
        SEXTANT_AUDIT_KEY: 'replicas-share-this-audit-key-0123',
        SEXTANT_WEBHOOK_ALLOW: '127.0.0.1',
        SEXTANT_LOG_LEVEL: 'warn',
      };
      // One first, so the second starts on a migrated database, as a rolling deploy would.
      servers = [await startServer(env)];
      servers.push(await startServer(env));
      clients = servers.map((s) => createHttpClient({ url: s.url }));
    }, 120_000);
    afterAll(async () => {
      await Promise.all(servers.map(stop));
      await db?.drop();
      if (home) fs.rmSync(home, { recursive: true, force: true });
    });

    it('versions registered through either server reach the webhook once each', async () => {
      const rx = await startReceiver(() => 204);
      try {
        const [a, b] = clients as [SextantApi, SextantApi];
        await a.webhooks.add({ url: `${rx.url}/hook`, events: ['model_version.created'] });
        const n = 6;
        for (let i = 0; i < n; i++) {
          await (i % 2 ? b : a).models.registerFile('replicated', {
            filename: 'm.onnx',
            content: tinyOnnxModel([i / 10, 0.1, 0.2]),
          });
        }
        const deadline = Date.now() + 30_000;
        while (rx.got.length < n && Date.now() < deadline) await sleep(100);
        // A second delivery by the other server would land within this grace period.
        await sleep(1_500);
        const versions = rx.got.map(
          (r) => (JSON.parse(r.body) as { payload: { version: number } }).payload.version,
        );
        expect(versions.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
        // Both servers see the same log: one delivery per version, each done.
        const deliveries = await b.webhooks.deliveries({});
        expect(deliveries.map((d) => d.state)).toEqual(Array(n).fill('delivered'));
      } finally {
        await rx.close();
      }
    });
  });
}
