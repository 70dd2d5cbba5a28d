import path from 'node:path';
import { sql } from 'kysely';
import { createServices } from '../src/app/index.js';
import { createBlobStore } from '../src/blobs/index.js';
import { systemClock } from '../src/core/clock.js';
import { loadConfig } from '../src/core/config.js';
import { buildApp } from '../src/server/app.js';
import { openStore } from '../src/store/index.js';
import { namedMetricHistory } from '../src/tracking/index.js';
import {
  fmtInt,
  fmtMs,
  fmtRatio,
  intEnv,
  printTable,
  progress,
  runCleanups,
  tempDir,
  timed,
} from './support.js';

/*
 * How long one big metric-history request holds the event loop (npx tsx --expose-gc bench/history-loop.bench.ts).
 * Prints tables and ratios; asserts nothing. Issue 16 asks that no single request block the loop for
 * more than about 100 ms. Seeds one run with BENCH_HISTORY_POINTS (300000) points of one metric in a
 * SQLite workspace, then for each request measures the longest stall of the loop while it runs
 * (the largest gap between the ticks of a 1 ms timer; being descheduled on a busy machine counts too). The baseline, side by side: the same
 * points read the way the server did before, in one query (one per run id named).
 */

const POINTS = intEnv('BENCH_HISTORY_POINTS', 300_000);

async function main() {
  const home = tempDir('sextant-history-bench-');
  const config = loadConfig({ SEXTANT_HOME: home });
  const store = await openStore(config.databaseUrl);
  const blobs = createBlobStore(`file:${path.join(home, 'blobs')}`);
  const services = createServices({
    store,
    blobs,
    clock: systemClock,
    config,
    auditKey: 'bench-audit-key-0123456789',
  });
  const app = await buildApp(services);
  const exp = await services.experiments.create({ actor: 'bench', name: 'history' });
  const run = await services.runs.create({ actor: 'bench', experimentId: exp.id });
  progress(`seeding ${fmtInt(POINTS)} points`);
  await sql`insert into run_numbers (run_id) values (${run.id})`.execute(store.db);
  await sql`insert into metric_keys (name) values ('loss') on conflict (name) do nothing`.execute(store.db);
  // The history names runs and keys by surrogate key (migration 029).
  await sql`
    with recursive s(x) as (select 0 union all select x + 1 from s where x < ${POINTS - 1})
    insert into metrics (run_num, key_id, value, is_nan, timestamp, step)
    select r.num, k.id, x * 0.5, 0, 1000 + x, x from s
    cross join run_numbers r cross join metric_keys k where r.run_id = ${run.id} and k.name = 'loss'`.execute(
    store.db,
  );

  /** The longest stall of the loop while fn runs (the largest gap between 1 ms ticks), and how long fn took. */
  async function stall(fn: () => Promise<unknown>): Promise<{ maxMs: number; ms: number }> {
    let last = performance.now();
    let maxMs = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      maxMs = Math.max(maxMs, now - last);
      last = now;
    }, 1);
    await new Promise((r) => setTimeout(r, 20));
    maxMs = 0;
    last = performance.now();
    const { ms } = await timed(fn);
    // A stall shows when the timer finally runs: give it the chance before reading.
    await new Promise((r) => setTimeout(r, 20));
    clearInterval(tick);
    return { maxMs, ms };
  }
  const q = (fields: Record<string, string | number | string[]>) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(fields))
      for (const x of Array.isArray(v) ? v : [v]) p.append(k, String(x));
    return p.toString();
  };
  const oldRead = (limit: number) =>
    namedMetricHistory(store.db)
      .where('run_id', '=', run.id)
      .where('key', '=', 'loss')
      .orderBy('step')
      .orderBy('timestamp')
      .orderBy('id')
      .limit(limit)
      .execute();

  const cases: { name: string; now: () => Promise<unknown>; before: () => Promise<unknown> }[] = [
    {
      name: 'get-history, 100k-point page',
      now: () =>
        app.inject({
          url: `/api/2.0/mlflow/metrics/get-history?${q({ run_id: run.id, metric_key: 'loss', max_results: 100_000 })}`,
        }),
      before: async () => JSON.stringify(await oldRead(100_001)),
    },
    {
      name: 'get-history, all points (before: one unpaged reply)',
      now: () =>
        app.inject({
          url: `/api/2.0/mlflow/metrics/get-history?${q({ run_id: run.id, metric_key: 'loss' })}`,
        }),
      before: async () => JSON.stringify(await oldRead(POINTS + 1)),
    },
    {
      name: 'bulk-interval, one run id',
      now: () =>
        app.inject({
          url: `/api/2.0/mlflow/metrics/get-history-bulk-interval?${q({ run_ids: [run.id], metric_key: 'loss' })}`,
        }),
      before: () => oldRead(1_000_000),
    },
    {
      name: 'bulk-interval, the run id 10 times (before: read 10 times)',
      now: () =>
        app.inject({
          url: `/api/2.0/mlflow/metrics/get-history-bulk-interval?${q({ run_ids: Array(10).fill(run.id), metric_key: 'loss' })}`,
        }),
      before: async () => {
        for (let i = 0; i < 10; i++) await oldRead(1_000_000);
      },
    },
  ];
  // Warm up the routes, statements and JIT on a small read, and start from a collected heap.
  await app.inject({
    url: `/api/2.0/mlflow/metrics/get-history?${q({ run_id: run.id, metric_key: 'loss', max_results: 10 })}`,
  });
  (globalThis as { gc?: () => void }).gc?.();
  const rows: string[][] = [];
  for (const c of cases) {
    progress(c.name);
    // Now first, and the garbage of the old way's huge arrays collected before the next case's turn,
    // so that one's collector pauses are not charged to the other.
    const now = await stall(c.now);
    const before = await stall(c.before);
    (globalThis as { gc?: () => void }).gc?.();
    rows.push([
      c.name,
      fmtMs(before.maxMs),
      fmtMs(now.maxMs),
      fmtRatio(now.maxMs / before.maxMs),
      fmtMs(before.ms),
      fmtMs(now.ms),
    ]);
  }
  printTable(
    ['request', 'before: longest stall', 'now: longest stall', 'now/before', 'before: total', 'now: total'],
    rows,
  );
  console.log(`target: no stall over ~100 ms. ${fmtInt(POINTS)} points, SQLite; noisy on a shared machine.`);
  await app.close();
  await blobs.close();
  await store.close();
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(runCleanups);
