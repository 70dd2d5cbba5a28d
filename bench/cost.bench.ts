import { spawn } from 'node:child_process';
import path from 'node:path';
import { createAuditLog } from '../src/audit/index.js';
import { systemClock } from '../src/core/clock.js';
import { createCostDomain, meterProcess, type RecordUsageInput } from '../src/cost/index.js';
import { openStore, type Store } from '../src/store/index.js';
import { seedExperiment, seedRuns, servedPredictionsOf } from '../test/support/cost-seed.js';
import {
  createPostgresDatabase,
  fmtInt,
  fmtMs,
  fmtRatio,
  intEnv,
  median,
  nowMs,
  printTable,
  progress,
  runCleanups,
  tempDir,
} from './support.js';

/*
 * Cost benchmark (npm run bench:cost). Prints tables and ratios; asserts nothing.
 *   1. Metering overhead: a child burns BENCH_COST_CPU_S of its own CPU time, waited for bare (the
 *      baseline) and under the process meter (samples of /proc, 50 ms apart at first, then up to 400 ms). The overhead is the extra CPU
 *      the metering parent spent, as a share of the child's CPU time. Target: <= 1%.
 *   2. The report over BENCH_COST_RUNS runs (100,000), one usage record each, one run in ten a sweep
 *      trial under a parent, every run tagged with a team: seeded in batches, then `report` by
 *      experiment, run, tag:team and with --compare, on SQLite and PostgreSQL. Target: < 1 s.
 */

const CPU_S = Number(process.env.BENCH_COST_CPU_S ?? 2);
const RUNS = intEnv('BENCH_COST_RUNS', 100_000);
const ROUNDS = intEnv('BENCH_ROUNDS', 3);

const BURN = `const c0 = process.cpuUsage(); while ((process.cpuUsage(c0).user + process.cpuUsage(c0).system) < ${CPU_S * 1e6}) {}`;

/** Runs the burner once; returns the parent's CPU seconds while waiting and the child's CPU seconds. */
async function burnOnce(metered: boolean): Promise<{ parentCpu: number; childCpu: number }> {
  const c0 = process.cpuUsage();
  const child = spawn(process.execPath, ['-e', BURN], { stdio: 'ignore' });
  const meter = metered ? meterProcess(child.pid!) : undefined;
  await new Promise((r) => child.once('close', r));
  const usage = meter?.stop();
  const d = process.cpuUsage(c0);
  return { parentCpu: (d.user + d.system) / 1e6, childCpu: usage?.cpuSeconds ?? CPU_S };
}

async function meteringOverhead(): Promise<void> {
  progress(`metering overhead: a child burning ${CPU_S} s of CPU, ${ROUNDS} rounds each way`);
  const bare: number[] = [];
  const metered: number[] = [];
  const child: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    bare.push((await burnOnce(false)).parentCpu);
    const m = await burnOnce(true);
    metered.push(m.parentCpu);
    child.push(m.childCpu);
  }
  const extra = Math.max(0, median(metered) - median(bare));
  printTable(
    ['case', 'parent cpu (median)', 'child cpu', 'overhead / child cpu'],
    [
      ['unmetered (baseline)', fmtMs(median(bare) * 1000), fmtMs(CPU_S * 1000), '-'],
      [
        'process meter, 50 -> 400 ms',
        fmtMs(median(metered) * 1000),
        fmtMs(median(child) * 1000),
        `${((extra / median(child)) * 100).toFixed(2)}%`,
      ],
    ],
  );
}

async function seed(store: Store): Promise<void> {
  const audit = createAuditLog({
    db: store.db,
    dialect: store.dialect,
    clock: systemClock,
    key: 'bench-audit-key-0123456789',
  });
  const cost = createCostDomain({
    db: store.db,
    audit,
    clock: systemClock,
    served: servedPredictionsOf(store.db),
  });
  await cost.prices.set({
    actor: 'bench',
    yaml: 'prices:\n  - { resource: cpu_hour, price: 0.0316 }\n  - { resource: memory_gib_hour, price: 0.0042 }\n  - { resource: gpu_hour, price: 2.5 }\n',
  });
  const exps: { id: number; name: string }[] = [];
  for (let e = 0; e < 50; e++) exps.push(await seedExperiment(store.db, `bench-exp-${e}`));
  const parents = await seedRuns(
    store.db,
    Array.from({ length: RUNS / 100 }, (_, i) => ({
      experimentId: exps[i % exps.length]!.id,
      tags: { team: `team-${i % 12}` },
    })),
  );
  const runs = await seedRuns(
    store.db,
    Array.from({ length: RUNS - parents.length }, (_, i) => ({
      experimentId: exps[i % exps.length]!.id,
      tags: { team: `team-${i % 12}` },
      ...(i % 10 === 0 ? { parentRunId: parents[i % parents.length]! } : {}),
    })),
  );
  const start = Date.UTC(2026, 0, 1);
  const all = [...parents, ...runs];
  const usage: RecordUsageInput[] = all.map((runId, i) => ({
    kind: 'run',
    runId,
    startedAt: start + i * 50_000,
    endedAt: start + i * 50_000 + 600_000,
    cpuSeconds: 300 + (i % 97),
    peakMemoryBytes: 2 ** 28 + i,
    ...(i % 20 === 0
      ? {
          gpuDevices: [
            {
              index: 0,
              uuid: 'GPU-b',
              name: 'NVIDIA A100',
              seconds: 600,
              utilizationAvg: 50,
              memoryPeakMib: 1000,
            },
          ],
        }
      : {}),
  }));
  for (let i = 0; i < usage.length; i += 10_000)
    await cost.usage.recordMany({ actor: 'bench', records: usage.slice(i, i + 10_000) });
}

async function reportBench(name: string, url: string): Promise<string[][]> {
  const store = await openStore(url);
  try {
    progress(`${name}: seeding ${fmtInt(RUNS)} runs with usage`);
    const t0 = nowMs();
    await seed(store);
    const seedMs = nowMs() - t0;
    const audit = createAuditLog({
      db: store.db,
      dialect: store.dialect,
      clock: systemClock,
      key: 'bench-audit-key-0123456789',
    });
    const cost = createCostDomain({
      db: store.db,
      audit,
      clock: systemClock,
      served: servedPredictionsOf(store.db),
    });
    const from = Date.UTC(2026, 0, 1);
    const to = from + RUNS * 50_000 + 3_600_000;
    const rows: string[][] = [[name, 'seed (batched)', fmtMs(seedMs), '']];
    for (const q of [
      { by: 'experiment' as const },
      { by: 'run' as const },
      // What `cost report --by run` asks for as text: the top 50 groups and one "(N more)" line.
      { by: 'run' as const, limit: 50 },
      { by: 'tag:team' },
      { by: 'experiment' as const, compare: 'auto' },
    ]) {
      const times: number[] = [];
      let groups = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const t = nowMs();
        const r = await cost.reports.report({ ...q, from, to });
        times.push(nowMs() - t);
        groups = r.groups.length;
      }
      rows.push([
        name,
        `report --by ${q.by}${'limit' in q ? ` --limit ${q.limit}` : ''}${'compare' in q ? ' --compare auto' : ''} (${fmtInt(groups)} groups)`,
        fmtMs(median(times)),
        fmtRatio(median(times) / 1000),
      ]);
    }
    return rows;
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  await meteringOverhead();
  const rows: string[][] = [];
  rows.push(
    ...(await reportBench('sqlite', `sqlite:${path.join(tempDir('sextant-bench-cost-'), 'bench.db')}`)),
  );
  const pg = await createPostgresDatabase();
  if ('url' in pg) rows.push(...(await reportBench('postgres', pg.url)));
  else progress(`postgres skipped: ${pg.skipped}`);
  printTable(['backend', `over ${fmtInt(RUNS)} runs`, 'median', 'vs 1 s target'], rows);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(runCleanups);
