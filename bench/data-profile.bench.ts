import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { profileTableFile, withConnection } from '../src/data/tables/index.js';
import {
  fmtInt,
  fmtMs,
  fmtRatio,
  intEnv,
  median,
  printTable,
  progress,
  runCleanups,
  tempDir,
  timed,
} from './support.js';

/*
 * Profiling benchmarks (npx tsx bench/data-profile.bench.ts). Prints tables and ratios; asserts nothing.
 *   1. Profile a seeded 1M-row x 20-column Parquet file: rows/s, side by side with DuckDB's own
 *      SUMMARIZE on the same file (the baseline: a one-pass DuckDB profile without sketches to merge).
 *   2. Profile a large generated CSV in a child process and print its peak RSS against the file size,
 *      next to the same for a file a tenth the size: memory must not grow with the file (streamed).
 * Knobs: BENCH_PROFILE_ROWS (1000000), BENCH_ROUNDS (3), BENCH_CSV_MB (500; BENCH_CSV_MB=5120 for the
 * 5 GB run, which needs ~6 GB of free temp space and a few minutes), BENCH_ONLY (parquet | csv).
 */

const ROWS = intEnv('BENCH_PROFILE_ROWS', 1_000_000);
const ROUNDS = intEnv('BENCH_ROUNDS', 3);
const CSV_MB = intEnv('BENCH_CSV_MB', 500);
const ONLY = process.env.BENCH_ONLY;

/** 20 columns from DuckDB's hash of the row number: the same data on every machine, no RNG state. */
function generatorSql(rows: number): string {
  const u = (k: number) => `((hash(i, ${k}) % 1000003)::DOUBLE / 1000003)`;
  const floats = Array.from({ length: 9 }, (_, k) => {
    const v = `((${u(k + 1)} + ${u(k + 101)} + ${u(k + 201)} - 1.5) * ${(k + 1) * 10} + ${k * 5})`;
    return k === 0 ? `CASE WHEN hash(i, 70) % 20 = 0 THEN NULL ELSE ${v} END AS f${k}` : `${v} AS f${k}`;
  });
  const ints = Array.from(
    { length: 3 },
    (_, k) => `(hash(i, ${20 + k}) % ${[10, 1000, 100000][k]})::INTEGER AS n${k}`,
  );
  const cats = Array.from(
    { length: 4 },
    (_, k) =>
      `(['alpha','beta','gamma','delta','epsilon','zeta','eta'])[1 + (hash(i, ${30 + k}) % ${3 + k})::INTEGER] AS c${k}`,
  );
  return `SELECT i AS id, ${[...floats, ...ints, ...cats].join(', ')},
    'user_' || (hash(i, 40) % 200000)::VARCHAR AS who,
    hash(i, 50) % 10 < 3 AS flag,
    TIMESTAMP '2024-01-01' + to_seconds((hash(i, 60) % 31536000)::BIGINT) AS at
    FROM range(${rows}) t(i)`;
}

async function write(file: string, rows: number, format: 'parquet' | 'csv'): Promise<void> {
  const opts = format === 'parquet' ? '(FORMAT parquet)' : '(FORMAT csv, HEADER true)';
  await withConnection((c) => c.run(`COPY (${generatorSql(rows)}) TO '${file}' ${opts}`));
}

async function parquetBench(dir: string): Promise<void> {
  const file = path.join(dir, 'bench.parquet');
  progress(`writing ${fmtInt(ROWS)} rows x 20 columns to Parquet`);
  await write(file, ROWS, 'parquet');
  const ours: number[] = [];
  const base: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    progress(`round ${r + 1}/${ROUNDS}`);
    base.push(
      (
        await timed(() =>
          withConnection((c) => c.runAndReadAll(`SUMMARIZE SELECT * FROM read_parquet('${file}')`)),
        )
      ).ms,
    );
    const t = await timed(() => profileTableFile(file, 'parquet'));
    if (t.result.rowCount !== ROWS || t.result.schema.columns.length !== 20)
      throw new Error('profile does not match the file');
    ours.push(t.ms);
  }
  const mo = median(ours);
  const mb = median(base);
  console.log(
    `\nProfile of a ${fmtInt(ROWS)}-row x 20-column Parquet file (${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB), median of ${ROUNDS}:`,
  );
  printTable(
    ['WHAT', 'MS', 'ROWS/S', 'VS BASELINE'],
    [
      ['DuckDB SUMMARIZE (baseline)', fmtMs(mb), fmtInt((ROWS / mb) * 1000), '1.00x'],
      ['profileTableFile (sextant)', fmtMs(mo), fmtInt((ROWS / mo) * 1000), fmtRatio(mo / mb)],
    ],
  );
}

interface ChildReport {
  rows: number;
  ms: number;
  maxRssMiB: number;
}

function profileInChild(file: string): Promise<ChildReport> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, self, '--child', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as ChildReport) : reject(new Error(`child exited ${code}`)),
    );
  });
}

async function csvBench(dir: string): Promise<void> {
  const sample = path.join(dir, 'sample.csv');
  await write(sample, 100_000, 'csv');
  const bytesPerRow = fs.statSync(sample).size / 100_000;
  fs.rmSync(sample);
  const bigRows = Math.round((CSV_MB * 2 ** 20) / bytesPerRow);
  const small = path.join(dir, 'small.csv');
  const big = path.join(dir, 'big.csv');
  progress(`writing CSVs of ${fmtInt(bigRows / 10)} and ${fmtInt(bigRows)} rows (~${CSV_MB} MiB)`);
  await write(small, Math.round(bigRows / 10), 'csv');
  await write(big, bigRows, 'csv');
  const tiny = path.join(dir, 'tiny.csv');
  await write(tiny, 1000, 'csv');
  const rows: string[][] = [];
  for (const f of [tiny, small, big]) {
    progress(`profiling ${path.basename(f)} in a child process`);
    const r = await profileInChild(f);
    const size = fs.statSync(f).size / 2 ** 20;
    rows.push([
      path.basename(f),
      size.toFixed(1),
      fmtInt(r.rows),
      fmtMs(r.ms),
      fmtInt((r.rows / r.ms) * 1000),
      r.maxRssMiB.toFixed(0),
      fmtRatio(r.maxRssMiB / size),
    ]);
    fs.rmSync(f);
  }
  console.log('\nPeak RSS of a process that profiles a CSV (it streams: RSS must not follow the file size):');
  printTable(['FILE', 'MIB', 'ROWS', 'MS', 'ROWS/S', 'PEAK RSS MIB', 'RSS / FILE'], rows);
}

async function child(file: string): Promise<void> {
  const t = await timed(() => profileTableFile(file, 'csv'));
  const report: ChildReport = {
    rows: t.result.rowCount,
    ms: t.ms,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(JSON.stringify(report));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3] as string);
  const dir = tempDir('sextant-profile-bench-');
  try {
    if (ONLY !== 'csv') await parquetBench(dir);
    if (ONLY !== 'parquet') await csvBench(dir);
  } finally {
    await runCleanups();
  }
}

await main();
