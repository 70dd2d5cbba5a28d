import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/backends.js';
import { systemClock } from '../../core/clock.js';
import { isAppError } from '../../core/errors.js';
import { newId, newIds } from '../../core/ids.js';
import { openStore, type Store } from '../../store/index.js';
import { countRows, eventually, makeRecord, storedIds } from './ledger-fixtures.contract.js';
import { openPredictionLedger } from './prediction-ledger.js';
import type { PredictionBatch } from './prediction-row.js';

/** Holds the database's write lock on the predictions table from another connection until released. */
async function holdWriteLock(store: Store): Promise<() => Promise<void>> {
  if (store.dialect.name === 'sqlite') {
    const conn = new BetterSqlite3(store.url.slice('sqlite:'.length));
    conn.exec('begin immediate');
    return async () => {
      conn.exec('commit');
      conn.close();
    };
  }
  const client = new pg.Client({ connectionString: store.url });
  await client.connect();
  await client.query('begin');
  await client.query('lock table predictions in exclusive mode');
  return async () => {
    await client.query('commit');
    await client.end();
  };
}

const makeBatchOf = (ids: string[]): PredictionBatch => ({
  ids,
  deploymentId: 'dep_none',
  modelVersionId: 'mv_test',
  model: 'credit',
  version: 1,
  alias: 'champion',
  role: 'champion',
  servedAt: Date.UTC(2026, 0, 1),
  requestKey: null,
  inputs: ids.map(() => ({})),
  outputs: ids.map(() => ({ prediction: 0 })),
  latencyUs: 1,
  shadow: null,
});

const settledState = async (p: Promise<unknown>) => {
  const marker = Symbol('pending');
  const r = await Promise.race([
    p.then(
      () => 'resolved',
      () => 'rejected',
    ),
    new Promise((r) => setTimeout(() => r(marker), 20)),
  ]);
  return r === marker ? 'pending' : r;
};

describeEachBackend('prediction ledger', (get) => {
  let second: Store;
  beforeAll(async () => {
    // A second connection: what it reads was committed, not just visible to the writer.
    second = await openStore(get().url);
  });
  afterAll(async () => {
    await second?.close();
  });

  it('a durable append resolves only once the record is readable from another connection', async () => {
    const ledger = openPredictionLedger({ store: get(), clock: systemClock });
    const dep = newId('dep');
    for (let i = 0; i < 5; i++) {
      const r = makeRecord({ deploymentId: dep });
      await ledger.append(r);
      expect((await storedIds(second, dep)).has(r.id)).toBe(true);
    }
    const batch = Array.from({ length: 40 }, () => makeRecord({ deploymentId: dep }));
    await Promise.all(
      batch.map(async (r) => {
        await ledger.append(r);
        expect((await storedIds(second, dep)).has(r.id)).toBe(true);
      }),
    );
    await ledger.close();
    expect(await countRows(second, dep)).toBe(45);
  });

  it('many concurrent durable appends share far fewer commits, and every row is stored', async () => {
    const ledger = openPredictionLedger({ store: get(), clock: systemClock });
    const dep = newId('dep');
    const clients = 64;
    const perClient = 8;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = 0; i < perClient; i++) await ledger.append(makeRecord({ deploymentId: dep }));
      }),
    );
    const stats = ledger.stats();
    expect(stats.committed).toBe(clients * perClient);
    expect(stats.commits).toBeLessThan((clients * perClient) / 8);
    expect(stats.pending).toBe(0);
    await ledger.close();
    expect(await countRows(second, dep)).toBe(clients * perClient);
  });

  it('several ledgers on one database write side by side; closing one leaves the others working', async () => {
    const a = openPredictionLedger({ store: get(), clock: systemClock });
    const b = openPredictionLedger({ store: get(), clock: systemClock, mode: 'async', flushIntervalMs: 5 });
    const dep = newId('dep');
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).append(makeRecord({ deploymentId: dep }))),
    );
    await a.close();
    await b.append(makeRecord({ deploymentId: dep }));
    await b.flush();
    const c = openPredictionLedger({ store: get(), clock: systemClock });
    await c.append(makeRecord({ deploymentId: dep }));
    await Promise.all([b.close(), c.close()]);
    expect(await countRows(second, dep)).toBe(62);
  });

  it('stores every field as appended, JSON columns included', async () => {
    const ledger = openPredictionLedger({ store: get(), clock: systemClock });
    const dep = newId('dep');
    const r = makeRecord({
      deploymentId: dep,
      requestKey: 'NULL',
      inputs: { note: 'a, "quoted" {brace} \\ back\nslash ünïcödé', n: -0.5, flag: true, none: null },
      latencyUs: 1234.6,
      shadow: { modelVersionId: 'mv_shadow', outputs: { prediction: 0 }, error: null },
    });
    await ledger.append(r);
    await ledger.close();
    const row = await second.db
      .selectFrom('predictions')
      .selectAll()
      .where('id', '=', r.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      deployment_id: dep,
      model_version_id: 'mv_test',
      model: 'credit',
      version: 1,
      alias: 'champion',
      role: 'champion',
      served_at: r.servedAt,
      request_key: 'NULL',
      latency_us: 1235,
      shadow_version_id: 'mv_shadow',
      shadow_error: null,
    });
    expect(JSON.parse(row.inputs)).toEqual(r.inputs);
    expect(JSON.parse(row.outputs)).toEqual(r.outputs);
    expect(JSON.parse(row.shadow_outputs ?? 'null')).toEqual({ prediction: 0 });
  });

  it('appendBatch logs a request in one append: every row, its own cells and the shared ones; a batch over maxBatch spans groups', async () => {
    const ledger = openPredictionLedger({ store: get(), clock: systemClock, maxBatch: 7, maxPending: 10 });
    const dep = newId('dep');
    const servedAt = Date.UTC(2026, 2, 3);
    const n = 23;
    const ids = newIds('pred', n, servedAt);
    const inputs = ids.map((_, i) => ({ i, note: `row ${i}, "q"\n` }));
    const outputs = ids.map((_, i) => ({ prediction: i % 2, probabilities: { '0': 1 - i / n, '1': i / n } }));
    await ledger.appendBatch({
      ids,
      deploymentId: dep,
      modelVersionId: 'mv_batch',
      model: 'credit',
      version: 3,
      alias: null,
      role: 'challenger',
      servedAt,
      requestKey: 'k1',
      inputs,
      outputs,
      latencyUs: 99.6,
      shadow: {
        modelVersionId: 'mv_shadow',
        outputs: ids.map((_, i) => (i === 5 ? null : { prediction: i })),
        error: null,
      },
    });
    // Durable: resolved means committed, all parts of it.
    expect(await countRows(second, dep)).toBe(n);
    expect(ledger.stats()).toMatchObject({ committed: n, pending: 0 });
    expect(ledger.stats().commits).toBeGreaterThanOrEqual(Math.ceil(n / 7));
    await ledger.appendBatch({ ...makeBatchOf([]), deploymentId: dep });
    await ledger.close();
    const rows = await second.db
      .selectFrom('predictions')
      .selectAll()
      .where('deployment_id', '=', dep)
      .orderBy('id')
      .execute();
    expect(rows.map((r) => r.id)).toEqual(ids);
    rows.forEach((row, i) => {
      expect(row).toMatchObject({
        model_version_id: 'mv_batch',
        model: 'credit',
        version: 3,
        alias: null,
        role: 'challenger',
        served_at: servedAt,
        request_key: 'k1',
        latency_us: 100,
        shadow_version_id: 'mv_shadow',
        shadow_error: null,
      });
      expect(JSON.parse(row.inputs)).toEqual(inputs[i]);
      expect(JSON.parse(row.outputs)).toEqual(outputs[i]);
      expect(JSON.parse(row.shadow_outputs ?? 'null')).toEqual(i === 5 ? null : { prediction: i });
    });
  });

  it('async mode acknowledges before the commit and loses nothing on flush() and close()', async () => {
    const ledger = openPredictionLedger({
      store: get(),
      clock: systemClock,
      mode: 'async',
      flushIntervalMs: 60_000,
    });
    const dep = newId('dep');
    for (let i = 0; i < 300; i++) await ledger.append(makeRecord({ deploymentId: dep }));
    expect(ledger.stats()).toMatchObject({ pending: 300, atRisk: 300, flushIntervalMs: 60_000 });
    expect(await countRows(second, dep)).toBe(0);
    await ledger.flush();
    expect(await countRows(second, dep)).toBe(300);
    for (let i = 0; i < 120; i++) await ledger.append(makeRecord({ deploymentId: dep }));
    await ledger.close();
    expect(await countRows(second, dep)).toBe(420);
    await expect(ledger.append(makeRecord({ deploymentId: dep }))).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('async mode commits on its own within the flush interval', async () => {
    const ledger = openPredictionLedger({
      store: get(),
      clock: systemClock,
      mode: 'async',
      flushIntervalMs: 30,
    });
    const dep = newId('dep');
    for (let i = 0; i < 10; i++) await ledger.append(makeRecord({ deploymentId: dep }));
    await eventually(() => ledger.stats().committed === 10, 'the timed flush');
    expect(ledger.stats().pending).toBe(0);
    expect(await countRows(second, dep)).toBe(10);
    await ledger.close();
  });

  it('async mode commits as soon as a full batch is waiting', async () => {
    const ledger = openPredictionLedger({
      store: get(),
      clock: systemClock,
      mode: 'async',
      flushIntervalMs: 60_000,
      maxBatch: 50,
    });
    const dep = newId('dep');
    for (let i = 0; i < 100; i++) await ledger.append(makeRecord({ deploymentId: dep }));
    await eventually(async () => (await countRows(second, dep)) === 100, 'the batch commits');
    await ledger.close();
  });

  for (const mode of ['durable', 'async'] as const) {
    it(`${mode}: a full ledger makes appends wait, never drops, and drains everything`, async () => {
      const ledger = openPredictionLedger({
        store: get(),
        clock: systemClock,
        mode,
        maxPending: 4,
        maxBatch: 2,
        flushIntervalMs: 5,
      });
      const dep = newId('dep');
      const release = await holdWriteLock(get());
      const appends = Array.from({ length: 20 }, () => ledger.append(makeRecord({ deploymentId: dep })));
      try {
        await eventually(() => ledger.stats().waiting === 16, 'appends waiting for room');
        expect(ledger.stats().pending).toBe(4);
        expect(await settledState(appends[19] as Promise<void>)).toBe('pending');
        if (mode === 'async') expect(await settledState(appends[0] as Promise<void>)).toBe('resolved');
      } finally {
        await release();
      }
      // Room frees a group at a time, and no more appends are let in than there is room for.
      let maxSeen = 0;
      const sample = () => {
        maxSeen = Math.max(maxSeen, ledger.stats().pending);
      };
      await Promise.all(appends.map((p) => p.then(sample)));
      expect(maxSeen).toBeLessThanOrEqual(4);
      await ledger.close();
      expect(await countRows(second, dep)).toBe(20);
      expect(ledger.stats()).toMatchObject({ pending: 0, waiting: 0, committed: 20 });
    });
  }

  it('an append that waits longer than maxWaitMs for room fails with UNAVAILABLE, and nothing else is lost', async () => {
    const ledger = openPredictionLedger({
      store: get(),
      clock: systemClock,
      maxPending: 2,
      maxBatch: 2,
      maxWaitMs: 50,
    });
    const dep = newId('dep');
    const release = await holdWriteLock(get());
    const first = [
      ledger.append(makeRecord({ deploymentId: dep })),
      ledger.append(makeRecord({ deploymentId: dep })),
    ];
    const late = ledger.append(makeRecord({ deploymentId: dep }));
    try {
      await expect(late).rejects.toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'ledger_full' } });
    } finally {
      await release();
    }
    await Promise.all(first);
    await ledger.close();
    expect(await countRows(second, dep)).toBe(2);
  });

  it('a failed commit rejects the durable appends of its group with UNAVAILABLE, and the ledger goes on', async () => {
    const ledger = openPredictionLedger({ store: get(), clock: systemClock });
    const dep = newId('dep');
    await ledger.append(makeRecord({ deploymentId: dep }));
    await sql`alter table predictions rename to predictions_off`.execute(get().db);
    const lost = Array.from({ length: 5 }, () => makeRecord({ deploymentId: dep }));
    let outcomes: PromiseSettledResult<void>[];
    try {
      outcomes = await Promise.allSettled(lost.map((r) => ledger.append(r)));
    } finally {
      await sql`alter table predictions_off rename to predictions`.execute(get().db);
    }
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      const reason = (o as PromiseRejectedResult).reason;
      expect(isAppError(reason) && reason.code).toBe('UNAVAILABLE');
    }
    expect(ledger.stats().failedCommits).toBeGreaterThan(0);
    await ledger.append(makeRecord({ deploymentId: dep }));
    await ledger.close();
    const ids = await storedIds(second, dep);
    expect(ids.size).toBe(2);
    for (const r of lost) expect(ids.has(r.id)).toBe(false);
  });

  it('async mode keeps the rows of a failed commit and writes them once the database is back', async () => {
    const ledger = openPredictionLedger({
      store: get(),
      clock: systemClock,
      mode: 'async',
      flushIntervalMs: 10,
    });
    const dep = newId('dep');
    await sql`alter table predictions rename to predictions_off`.execute(get().db);
    try {
      for (let i = 0; i < 10; i++) await ledger.append(makeRecord({ deploymentId: dep }));
      await eventually(() => ledger.stats().failedCommits > 0, 'a failed commit');
      await expect(ledger.flush()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(ledger.stats().pending).toBe(10);
    } finally {
      await sql`alter table predictions_off rename to predictions`.execute(get().db);
    }
    await eventually(() => ledger.stats().committed === 10, 'the retried commit');
    await ledger.close();
    expect(await countRows(second, dep)).toBe(10);
  });
});

describe('prediction ledger on an in-memory SQLite database', () => {
  it('writes on the main connection', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      const ledger = openPredictionLedger({ store, clock: systemClock });
      const dep = newId('dep');
      await Promise.all(Array.from({ length: 30 }, () => ledger.append(makeRecord({ deploymentId: dep }))));
      await ledger.close();
      expect(await countRows(store, dep)).toBe(30);
    } finally {
      await store.close();
    }
  });
});
