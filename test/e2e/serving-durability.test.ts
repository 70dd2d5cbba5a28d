import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { postgresUrl, serviceAvailable } from '../support/services.js';
import {
  type CreditRecord,
  creditRecords,
  type LoadResult,
  openHarnessWorkspace,
  prepareServingWorkspace,
  promote,
  type RepliedPrediction,
  runLoad,
  type ServeProcess,
  startServe,
  workspaceEnv,
} from './serving-serve-harness.js';

/*
 * "No prediction is lost", as a client sees it: `sextant serve` runs as a real process on a SQLite
 * workspace, clients keep requests in flight over HTTP, and then the server is killed (-9), swaps
 * its model, or shuts down gracefully (kill -9 also on PostgreSQL, where the ledger commits through
 * the pool instead of a SQLite worker). Afterwards the workspace is opened and every prediction id
 * a client received a reply for must be in the prediction log, with the version that answered.
 * After a graceful shutdown the converse holds too: every logged prediction reached its client
 * (in-flight requests were completed, not cut off).
 */

const MODEL = 'credit';
const CONCURRENCY = 16;

const CASES = [
  ['sqlite', 'table'],
  ['sqlite', 'segments'],
  ['postgres', 'table'],
  ['postgres', 'segments'],
] as const;

for (const [backend, storage] of CASES) {
  // Child processes start slowly on a loaded machine (tsx compiles the CLI as it loads): room, not a timing.
  describe(`sextant serve loses no prediction [${backend}, ${storage} log]`, {
    timeout: 90_000,
  }, async () => {
    const enabled = backend === 'sqlite' || (await serviceAvailable('postgres', postgresUrl, 5432));
    if (!enabled) {
      it.skip('postgres unavailable', () => undefined);
      return;
    }
    let home: string;
    let databaseUrl: string | undefined;
    let drop: (() => Promise<void>) | undefined;
    let env: Record<string, string>;
    let records: CreditRecord[];
    const running: ServeProcess[] = [];

    beforeAll(async () => {
      home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-serving-durability-'));
      if (backend === 'postgres') {
        const db = await createTestDatabase('postgres');
        databaseUrl = db.url;
        drop = db.drop;
      }
      env = workspaceEnv(home, {
        SEXTANT_PREDICTION_LOG: storage,
        ...(databaseUrl ? { SEXTANT_DATABASE_URL: databaseUrl } : {}),
      });
      await prepareServingWorkspace({
        home,
        model: MODEL,
        versions: 2,
        ...(databaseUrl ? { databaseUrl } : {}),
      });
      records = creditRecords(64);
    });

    afterAll(async () => {
      for (const s of running)
        if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
      await Promise.all(running.map((s) => s.exited));
      await drop?.();
      fs.rmSync(home, { recursive: true, force: true });
    });

    async function serve(name: string, ...extra: string[]): Promise<ServeProcess> {
      const s = await startServe(env, [
        'serve',
        `${MODEL}@champion`,
        '--port',
        '0',
        '--name',
        name,
        ...extra,
      ]);
      running.push(s);
      return s;
    }

    /** The workspace's settings alone, for the CLI run in this process. */
    const configEnv = (): Record<string, string> => ({
      SEXTANT_HOME: home,
      SEXTANT_LOG_LEVEL: 'silent',
      SEXTANT_PREDICTION_LOG: storage,
      ...(databaseUrl ? { SEXTANT_DATABASE_URL: databaseUrl } : {}),
    });

    /** One record, or now and then a batch of three: batches are logged as three predictions. */
    const body = (i: number) =>
      i % 5 === 0
        ? { dataframe_records: [0, 1, 2].map((k) => records[(i + k) % records.length]) }
        : { dataframe_records: [records[i % records.length]] };

    /** Every logged prediction of the deployment: id -> version. */
    async function logged(deployment: string): Promise<Map<string, number>> {
      const ws = await openHarnessWorkspace(home, databaseUrl);
      try {
        const out = new Map<string, number>();
        let cursor: string | undefined;
        do {
          const page = await ws.serving.predictions.list({
            deployment,
            limit: 1000,
            ...(cursor ? { cursor } : {}),
          });
          for (const p of page.predictions) out.set(p.id, p.version);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        return out;
      } finally {
        await ws.close();
      }
    }

    function expectAllLogged(replied: RepliedPrediction[], log: Map<string, number>): void {
      const missing = replied.filter((p) => !log.has(p.id));
      expect(
        missing,
        `${missing.length} of ${replied.length} replied predictions are not in the log`,
      ).toEqual([]);
      const wrongVersion = replied.filter((p) => log.get(p.id) !== p.version);
      expect(wrongVersion).toEqual([]);
    }

    function expectNoFailures(r: LoadResult): void {
      expect(r.samples, 'non-2xx replies').toEqual([]);
      expect(r.transportErrors).toBe(0);
    }

    it('kill -9 under load (durable ledger): every prediction whose reply was received is in the log', async () => {
      const s = await serve('kill9', '--ledger', 'durable');
      let killed = false;
      const load = runLoad({
        baseUrl: s.baseUrl,
        concurrency: CONCURRENCY,
        body,
        stop: () => killed,
        onReply: (n) => {
          if (n >= 250 && !killed) {
            killed = true;
            s.child.kill('SIGKILL');
          }
        },
      });
      const [result, exit] = await Promise.all([load, s.exited]);
      expect(exit.signal).toBe('SIGKILL');
      expect(result.replied.length).toBeGreaterThanOrEqual(250);
      // Only a dead server's refusals and cut connections; never an error reply.
      expect(result.samples).toEqual([]);
      expectAllLogged(result.replied, await logged('kill9'));

      // As a user would check one of them.
      const one = result.replied.at(-1)!;
      const shown = await cli(configEnv(), '--json', 'predictions', 'show', one.id);
      expect(shown.code, shown.err).toBe(0);
      expect(JSON.parse(shown.out)).toMatchObject({ id: one.id, version: one.version });
    });

    // The other promises on SQLite only: they exercise the runtime and the shutdown, not the backend.
    if (backend === 'postgres') return;

    it('a promotion under load swaps the model: no failed request, both versions answer, each logged as the one that answered', async () => {
      const s = await serve('swap', '--poll-interval', '100ms');
      expect(s.version).toBe(1);
      let promotion: Promise<unknown> | undefined;
      let promoteError: unknown;
      let fromV2 = 0;
      const result = await runLoad({
        baseUrl: s.baseUrl,
        concurrency: 8,
        body,
        stop: () => fromV2 >= 100 || promoteError !== undefined,
        onReply: (n, predictions) => {
          fromV2 += predictions.filter((p) => p.version === 2).length;
          if (n >= 100 && !promotion)
            promotion = promote(home, MODEL, 2).catch((err) => (promoteError = err));
        },
      });
      await promotion;
      expect(promoteError).toBeUndefined();
      expectNoFailures(result);
      const versions = new Set(result.replied.map((p) => p.version));
      expect([...versions].sort()).toEqual([1, 2]);

      s.child.kill('SIGTERM');
      expect((await s.exited).code).toBe(0);
      const log = await logged('swap');
      expectAllLogged(result.replied, log);
      expect(log.size).toBe(result.replied.length);
    });

    for (const mode of ['durable', 'async'] as const) {
      it(`SIGTERM under load (${mode} ledger): exits 0, in-flight requests complete, the log holds exactly the replied predictions`, async () => {
        const name = `graceful-${mode}`;
        const s = await serve(name, '--ledger', mode);
        let signalled = false;
        const result = await runLoad({
          baseUrl: s.baseUrl,
          concurrency: CONCURRENCY,
          body,
          // Each connection stops by itself once the server refuses it.
          stop: () => false,
          onReply: (n) => {
            if (n >= 200 && !signalled) {
              signalled = true;
              s.child.kill('SIGTERM');
            }
          },
        });
        const exit = await s.exited;
        expect(exit.code, s.output()).toBe(0);
        expect(result.replied.length).toBeGreaterThanOrEqual(200);
        // Requests that arrive while it drains may be refused (503, or a closed connection): expected.
        expect([...result.statuses.keys()].filter((st) => st !== 503)).toEqual([]);
        const log = await logged(name);
        expectAllLogged(result.replied, log);
        // The converse: a prediction the server made (and logged) reached its client, so no request
        // that was being served when the signal came was cut off.
        const replied = new Set(result.replied.map((p) => p.id));
        const unreplied = [...log.keys()].filter((id) => !replied.has(id));
        expect(unreplied).toEqual([]);
      });
    }
  });
}
