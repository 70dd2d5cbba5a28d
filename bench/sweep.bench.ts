import fs from 'node:fs';
import path from 'node:path';
import { jobTrialRunner, openWorkspace, type Workspace } from '../src/app/index.js';
import { localPrincipal } from '../src/auth/index.js';
import { createLocalApi } from '../src/cli/local-api.js';
import { loadConfig } from '../src/core/config.js';
import {
  inProcessTrialRunner,
  runSweep,
  type SweepSpec,
  type TrialRunner,
  writeCreditCsv,
} from '../src/ml/index.js';
import { fmtRatio, intEnv, median, nowMs, printTable, progress, runCleanups, tempDir } from './support.js';

/*
 * Sweep benchmark (npx tsx bench/sweep.bench.ts). Prints a table and ratios; asserts nothing.
 * One gbdt grid sweep with median stopping on a SQLite workspace, two ways side by side, alternating:
 *   baseline: the trials in this process's threads, the board in memory (a sweep against a server);
 *   jobs:     the trials as sweep.trial jobs worked by this process, the board in the database.
 * The difference is the jobs' commits and one board round trip per tree per trial.
 * Knobs: BENCH_SWEEP_ROWS (2000), BENCH_SWEEP_TREES (60), BENCH_SWEEP_PARALLEL (2), BENCH_SWEEP_ROUNDS (3).
 */

const ROWS = intEnv('BENCH_SWEEP_ROWS', 2000);
const TREES = intEnv('BENCH_SWEEP_TREES', 60);
const PARALLEL = intEnv('BENCH_SWEEP_PARALLEL', 2);
const ROUNDS = intEnv('BENCH_SWEEP_ROUNDS', 3);

async function main(): Promise<void> {
  const home = tempDir('sextant-bench-sweep-');
  const ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home }));
  const api = createLocalApi(ws);
  const dir = path.join(home, 'credit');
  fs.mkdirSync(dir);
  writeCreditCsv(path.join(dir, 'credit.csv'), { rows: ROWS, seed: 1 });
  await api.data.add({
    dataset: 'credit',
    files: [
      {
        path: 'credit.csv',
        localPath: path.join(dir, 'credit.csv'),
        size: fs.statSync(path.join(dir, 'credit.csv')).size,
      },
    ],
  });
  const spec: SweepSpec = {
    base: {
      datasetRef: 'credit@1',
      target: 'defaulted',
      kind: 'gbdt',
      seed: 1,
      params: { n_estimators: String(TREES) },
    },
    grid: { learning_rate: ['0.3', '0.1', '0.03', '0.001'], max_depth: ['3', '5'] },
    parallel: PARALLEL,
    earlyStop: 'median',
    warmup: 10,
  };
  await ws.close();
  // Each sweep opens its own workspace, as one `sextant sweep` invocation does: both ways start their
  // trial threads once per sweep.
  const ways: [string, (w: Workspace) => TrialRunner][] = [
    ['threads + memory board', (w) => inProcessTrialRunner(createLocalApi(w))],
    ['jobs + database board', (w) => jobTrialRunner(w.jobs, { actor: localPrincipal.name })],
  ];
  const times = new Map<string, number[]>(ways.map(([name]) => [name, []]));
  const trees = new Map<string, number[]>(ways.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, runner] of ways) {
      progress(`round ${round + 1}/${ROUNDS}: ${name}`);
      const started = nowMs();
      const w = await openWorkspace(loadConfig({ SEXTANT_HOME: home }));
      const out = await runSweep(createLocalApi(w), spec, { experiment: 'bench', trials: runner(w) });
      await w.close();
      times.get(name)!.push(nowMs() - started);
      trees.get(name)!.push(out.trials.reduce((n, t) => n + (t.iterations ?? 0), 0));
    }
  }
  const base = median(times.get(ways[0]![0])!);
  console.log(
    `\nsweep: 8 gbdt trials x ${TREES} trees on ${ROWS} rows, median stopping, --parallel ${PARALLEL}, SQLite\n`,
  );
  printTable(
    ['WAY', 'MEDIAN S', 'VS BASELINE', 'TREES FITTED (MEDIAN)'],
    ways.map(([name]) => [
      name,
      (median(times.get(name)!) / 1000).toFixed(2),
      fmtRatio(median(times.get(name)!) / base),
      String(median(trees.get(name)!)),
    ]),
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(runCleanups);
