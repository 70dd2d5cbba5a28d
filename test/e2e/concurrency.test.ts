import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../src/audit/index.js';
import { systemClock } from '../../src/core/clock.js';
import { openStore, type Store, sqliteDialect } from '../../src/store/index.js';
import { namedMetricHistory } from '../../src/tracking/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, describeEachBackend } from '../support/backends.js';
import { BATCHES, batchOf, CLIENTS, PER_BATCH, type Point, pointsOf } from './fixtures/load.js';
import { uniq } from './helpers.js';

const clients = Array.from({ length: CLIENTS }, (_, c) => c);
const TOTAL = CLIENTS * BATCHES * PER_BATCH;
/** The key createTestApp signs the audit chain with. */
const TEST_AUDIT_KEY = 'test-audit-key-0123456789';

/** Creates an experiment and `n` runs; returns the run ids. */
async function makeRuns(t: TestApp, n: number): Promise<string[]> {
  const exp = await t.services.experiments.create({ actor: 'test', name: uniq('load') });
  const ids: string[] = [];
  for (let i = 0; i < n; i++)
    ids.push((await t.services.runs.create({ actor: 'test', experimentId: exp.id })).id);
  return ids;
}

/** What must hold after the load: every point once, nothing else, and the latest value of each key right. */
async function expectStoredExactly(store: Store, runOf: (client: number) => string) {
  const runIds = [...new Set(clients.map(runOf))];
  const count = await namedMetricHistory(store.db)
    .clearSelect()
    .where('run_id', 'in', runIds)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  expect(Number(count.n)).toBe(TOTAL);
  const distinct = await store.db
    .selectFrom(() =>
      namedMetricHistory(store.db)
        .clearSelect()
        .where('run_id', 'in', runIds)
        .select(['run_id', 'key', 'step', 'timestamp'])
        .distinct()
        .as('d'),
    )
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  expect(Number(distinct.n)).toBe(TOTAL);

  const expected = new Map<string, Point>();
  for (const c of clients) {
    for (const p of pointsOf(c)) {
      const id = `${runOf(c)}/${p.key}`;
      const best = expected.get(id);
      if (!best || p.step > best.step) expected.set(id, p);
    }
  }
  const latest = await store.db
    .selectFrom('latest_metrics')
    .selectAll()
    .where('run_id', 'in', runIds)
    .execute();
  const actual = new Map(
    latest.map((l) => [
      `${l.run_id}/${l.key}`,
      { key: l.key, value: l.value, timestamp: l.timestamp, step: l.step },
    ]),
  );
  expect(actual).toEqual(expected);
}

describeEachBackend('50 concurrent clients logging 2,000 points each', (getStore) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(getStore());
  });
  afterAll(() => t.close());

  /** Every client sends its batches one after another, all clients at once, as MLflow's client would. */
  async function hammer(runOf: (client: number) => string) {
    const failures: string[] = [];
    await Promise.all(
      clients.map(async (c) => {
        for (let b = 0; b < BATCHES; b++) {
          const metrics = batchOf(c, b).map((p) => ({
            ...p,
            timestamp: String(p.timestamp),
            step: String(p.step),
          }));
          const res = await t.app.inject({
            method: 'POST',
            url: '/api/2.0/mlflow/runs/log-batch',
            payload: { run_id: runOf(c), metrics },
          });
          if (res.statusCode !== 200) failures.push(`client ${c} batch ${b}: ${res.statusCode} ${res.body}`);
        }
      }),
    );
    expect(failures.slice(0, 5)).toEqual([]);
  }

  it('keeps every point exactly once when all clients share one run', async () => {
    const [shared] = await makeRuns(t, 1);
    await hammer(() => shared!);
    await expectStoredExactly(t.services.store, () => shared!);
    expect(await t.services.audit.verify()).toMatchObject({ ok: true, problems: [] });
  });

  it('keeps every point exactly once when each client has its own run', async () => {
    const runs = await makeRuns(t, CLIENTS);
    await hammer((c) => runs[c]!);
    await expectStoredExactly(t.services.store, (c) => runs[c]!);
    expect(await t.services.audit.verify()).toMatchObject({ ok: true, problems: [] });
  });

  it('lets exactly one of several clients racing to log a param with different values win', async () => {
    const [runId] = await makeRuns(t, 1);
    const race = (value: (i: number) => string) =>
      Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t.app.inject({
            method: 'POST',
            url: '/api/2.0/mlflow/runs/log-parameter',
            payload: { run_id: runId, key: 'seed', value: value(i) },
          }),
        ),
      );
    const replies = await race((i) => `v${i}`);
    const winners = replies.flatMap((r, i) => (r.statusCode === 200 ? [`v${i}`] : []));
    expect(winners).toHaveLength(1);
    expect(replies.filter((r) => r.statusCode === 400)).toHaveLength(19);
    expect((await t.services.runs.get(runId!)).params).toEqual({ seed: winners[0] });
    // Racing with the value already stored is harmless.
    expect((await race(() => winners[0]!)).map((r) => r.statusCode)).toEqual(Array(20).fill(200));
  });

  it('answers clients racing to create one experiment as mlflow.set_experiment() expects: one wins, the rest RESOURCE_ALREADY_EXISTS', async () => {
    const name = uniq('shared-exp');
    const replies = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.app.inject({ method: 'POST', url: '/api/2.0/mlflow/experiments/create', payload: { name } }),
      ),
    );
    expect(replies.filter((r) => r.statusCode === 200)).toHaveLength(1);
    for (const r of replies.filter((r) => r.statusCode !== 200)) {
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json()).toMatchObject({ error_code: 'RESOURCE_ALREADY_EXISTS' });
    }
  });
});

/** Runs a log-batch worker in its own OS process; resolves with its exit code and output. */
function runWorker(job: object): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/e2e/fixtures/log-batch-worker.ts', JSON.stringify(job)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const collect = (d: Buffer) => {
      out += d.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('two OS processes writing to one SQLite file', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let t: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    t = await createTestApp(await openStore(db.url));
  });
  afterAll(async () => {
    await t.close();
    await t.services.store.close();
    await db.drop();
  });

  it('never surfaces SQLITE_BUSY or "database is locked", and loses or doubles nothing', async () => {
    const [shared] = await makeRuns(t, 1);
    const own = await makeRuns(t, CLIENTS);
    // Half the clients in each process, each client on the shared run and on its own run at the same time.
    const half = (from: number) =>
      clients.slice(from, from + CLIENTS / 2).flatMap((c) => [
        [c, shared!],
        [c, own[c]!],
      ]);
    const results = await Promise.all(
      [0, CLIENTS / 2].map((from) =>
        runWorker({ url: db.url, auditKey: TEST_AUDIT_KEY, assignments: half(from) }),
      ),
    );
    for (const r of results) {
      expect(r.out).not.toMatch(/SQLITE_BUSY|database is locked/i);
      expect(r.code, r.out).toBe(0);
      expect(JSON.parse(r.out.trim().split('\n').pop() ?? '{}')).toEqual({
        batches: CLIENTS * BATCHES,
        errors: [],
      });
    }
    await expectStoredExactly(t.services.store, () => shared!);
    await expectStoredExactly(t.services.store, (c) => own[c]!);
    // The test process and both workers appended to the chain with the same key: it verifies whole.
    const audit = createAuditLog({
      db: t.services.store.db,
      dialect: sqliteDialect,
      clock: systemClock,
      key: TEST_AUDIT_KEY,
    });
    expect(await audit.verify()).toMatchObject({ ok: true, problems: [] });
  });
});
