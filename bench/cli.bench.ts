/*
 * CLI start-up, side by side with `node -e ''` (the floor: starting Node itself) on the same machine.
 * Each case runs CLI_BENCH_REPS times (default 15), interleaved so load spikes hit every case alike;
 * the table shows the median wall time, the time above the floor, and the ratio to the floor.
 * Target (issue 17): `--help` and light commands on a local workspace under 200 ms.
 * The local workspace is a fresh temp folder with one experiment, run, dataset and model in it.
 * Run: npx tsx bench/cli.bench.ts   (runs bin/sextant.js, building dist/bin/ first if src/ is newer)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fmtMs, fmtRatio, intEnv, median, printTable } from './support.js';

const REPS = intEnv('CLI_BENCH_REPS', 15);
const BIN = path.resolve(import.meta.dirname, '../bin/sextant.js');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-cli-bench-'));
const env = { ...process.env, SEXTANT_HOME: home };

function run(args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const sextant = (...argv: string[]) => [BIN, ...argv];
// A workspace with something in it, made through the CLI itself (this also builds dist/bin/ if needed).
const csv = path.join(home, 'people.csv');
fs.writeFileSync(
  csv,
  ['id,age', ...Array.from({ length: 100 }, (_, i) => `${i},${20 + (i % 50)}`)].join('\n'),
);
run(sextant('data', 'add', csv, '--dataset', 'people'));
run(sextant('experiments', 'create', 'bench'));
run(sextant('run', '-e', 'bench', '--', process.execPath, '-e', ''));

const cases: [string, string[]][] = [
  ["node -e ''", ['-e', '']],
  ['sextant --help', sextant('--help')],
  ['sextant --version', sextant('--version')],
  ['sextant runs ls -e bench', sextant('runs', 'ls', '-e', 'bench')],
  ['sextant models ls', sextant('models', 'ls')],
  ['sextant data ls', sextant('data', 'ls')],
  ['sextant experiments ls --json', sextant('experiments', 'ls', '--json')],
  // The sources through tsx, as bin/sextant.js ran them before the bundle: the old start-up.
  [
    '(tsx src/) sextant --help',
    ['--import', 'tsx', path.resolve(import.meta.dirname, '../src/cli/main.ts'), '--help'],
  ],
  [
    '(tsx src/) sextant runs ls',
    ['--import', 'tsx', path.resolve(import.meta.dirname, '../src/cli/main.ts'), 'runs', 'ls', '-e', 'bench'],
  ],
];
const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let i = 0; i < REPS; i++) for (const [name, args] of cases) times.get(name)!.push(run(args));

const floor = median(times.get("node -e ''")!);
console.log(
  `CLI start-up, median of ${REPS} runs each (interleaved), ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
);
printTable(
  ['case', 'median ms', 'above node ms', 'x node'],
  cases.map(([name]) => {
    const m = median(times.get(name)!);
    return [name, fmtMs(m), fmtMs(m - floor), fmtRatio(m / floor)];
  }),
);
fs.rmSync(home, { recursive: true, force: true });
