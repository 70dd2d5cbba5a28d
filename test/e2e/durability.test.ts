import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog, resolveAuditKey } from '../../src/audit/index.js';
import { createBlobStore } from '../../src/blobs/index.js';
import { systemClock } from '../../src/core/clock.js';
import { openStore } from '../../src/store/index.js';
import { namedMetricHistory } from '../../src/tracking/index.js';
import { createTestDatabase } from '../support/backends.js';
import { postgresUrl, serviceAvailable } from '../support/services.js';
import { MLFLOW, PROXY } from './helpers.js';

const STREAMS = 4;
const BATCHES_PER_STREAM = 10;
const METRICS_PER_BATCH = 50;

/** Starts the real server in its own process; resolves once it prints the port it listens on. */
function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; base: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SEXTANT_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/e2e/fixtures/server.ts'], {
    env: { ...clean, SEXTANT_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) resolve({ child, base: `http://127.0.0.1:${line[1]}` });
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
  });
}

async function post(base: string, endpoint: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${MLFLOW}/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${endpoint}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Batch `b`: its own steps, one param and one tag, so each acknowledged batch can be found again. */
function batchBody(runId: string, b: number) {
  return {
    run_id: runId,
    metrics: Array.from({ length: METRICS_PER_BATCH }, (_, i) => ({
      key: `m${i % 5}`,
      value: b + i / 100,
      timestamp: String(1_700_000_000_000 + b),
      step: String(b * METRICS_PER_BATCH + i),
    })),
    params: [{ key: `p${b}`, value: `value-${b}` }],
    tags: [{ key: `t${b}`, value: `tag-${b}` }],
  };
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`a write acknowledged to a client survives kill -9 of the server [${backend}]`, async () => {
    const enabled = backend === 'sqlite' || (await serviceAvailable('postgres', postgresUrl, 5432));
    let home: string;
    let dbUrl: string;
    let drop: () => Promise<void> = async () => {};
    beforeAll(async () => {
      home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-durable-'));
      if (backend === 'postgres') {
        const db = await createTestDatabase('postgres');
        dbUrl = db.url;
        drop = db.drop;
      } else {
        dbUrl = `sqlite:${path.join(home, 'sextant.db')}`;
      }
    });
    afterAll(async () => {
      await drop();
      fs.rmSync(home, { recursive: true, force: true });
    });

    it.skipIf(!enabled)(
      'every acknowledged metric, param, tag and artifact is there after a restart',
      async () => {
        const env: Record<string, string> = {
          SEXTANT_HOME: home,
          ...(backend === 'postgres' ? { SEXTANT_DATABASE_URL: dbUrl } : {}),
        };
        const { child, base } = await startServer(env);
        const exited = new Promise<NodeJS.Signals | null>((resolve) =>
          child.on('exit', (_code, signal) => resolve(signal)),
        );
        try {
          const expId = String((await post(base, 'experiments/create', { name: 'durable' })).experiment_id);
          const runId = String(
            (
              (await post(base, 'runs/create', { experiment_id: expId, start_time: String(Date.now()) }))
                .run as { info: { run_id: string } }
            ).info.run_id,
          );
          const files = Array.from({ length: 3 }, (_, i) => ({
            path: `model/part-${i}.bin`,
            bytes: randomBytes(64 * 1024 + i),
          }));
          for (const f of files) {
            const res = await fetch(`${base}${PROXY}/${expId}/${runId}/artifacts/${f.path}`, {
              method: 'PUT',
              body: f.bytes,
            });
            expect(res.status).toBe(200);
          }

          // Several clients at once; the server is killed the moment the last acknowledgement arrives,
          // with a few more batches still in flight (those may land or not, but never in part).
          const acked: number[] = [];
          await Promise.all(
            Array.from({ length: STREAMS }, async (_, s) => {
              for (let i = 0; i < BATCHES_PER_STREAM; i++) {
                const b = s * BATCHES_PER_STREAM + i;
                await post(base, 'runs/log-batch', batchBody(runId, b));
                acked.push(b);
              }
            }),
          );
          const inFlight = Array.from({ length: 5 }, (_, i) => STREAMS * BATCHES_PER_STREAM + i);
          for (const b of inFlight)
            void post(base, 'runs/log-batch', batchBody(runId, b)).catch(() => undefined);
          child.kill('SIGKILL');
          expect(await exited).toBe('SIGKILL');
          expect(acked).toHaveLength(STREAMS * BATCHES_PER_STREAM);

          const store = await openStore(dbUrl);
          try {
            const metrics = await namedMetricHistory(store.db).where('run_id', '=', runId).execute();
            const steps = new Set(metrics.map((m) => m.step));
            const params = Object.fromEntries(
              (await store.db.selectFrom('params').selectAll().where('run_id', '=', runId).execute()).map(
                (p) => [p.key, p.value],
              ),
            );
            const tags = Object.fromEntries(
              (await store.db.selectFrom('run_tags').selectAll().where('run_id', '=', runId).execute()).map(
                (t) => [t.key, t.value],
              ),
            );
            for (const b of acked) {
              for (let i = 0; i < METRICS_PER_BATCH; i++)
                expect(steps.has(b * METRICS_PER_BATCH + i), `batch ${b} metric ${i}`).toBe(true);
              expect(params[`p${b}`]).toBe(`value-${b}`);
              expect(tags[`t${b}`]).toBe(`tag-${b}`);
            }
            // A batch cut off by the kill is all there or not there at all.
            for (const b of inFlight) {
              const stored = Array.from({ length: METRICS_PER_BATCH }, (_, i) =>
                steps.has(b * METRICS_PER_BATCH + i),
              );
              const present = params[`p${b}`] !== undefined;
              expect(stored, `in-flight batch ${b}`).toEqual(Array(METRICS_PER_BATCH).fill(present));
            }
            const landed = inFlight.filter((b) => params[`p${b}`] !== undefined).length;
            expect(metrics).toHaveLength((acked.length + landed) * METRICS_PER_BATCH);

            const blobs = createBlobStore(`file:${path.join(home, 'blobs')}`);
            for (const f of files) {
              const row = await store.db
                .selectFrom('artifacts')
                .selectAll()
                .where('run_id', '=', runId)
                .where('path', '=', f.path)
                .executeTakeFirstOrThrow();
              expect((await blobs.getBytes(row.sha256)).equals(f.bytes), f.path).toBe(true);
            }
            const audit = createAuditLog({
              db: store.db,
              dialect: store.dialect,
              clock: systemClock,
              key: resolveAuditKey(home),
            });
            const verdict = await audit.verify();
            expect(verdict.problems).toEqual([]);
            expect(verdict.ok).toBe(true);
          } finally {
            await store.close();
          }
        } finally {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }
      },
    );
  });
}
