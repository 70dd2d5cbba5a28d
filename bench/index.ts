import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { printTable } from './support.js';
import { readTargets } from './targets.js';

/*
 * `npm run bench`: issue 19's benchmarks, each in its own process, then every figure that has a
 * target printed beside it, misses included. BENCHES=serving,gbdt picks some (names below); each
 * benchmark's own knobs are in its header.
 */

const BENCHES: Record<string, string> = {
  tracking: 'tracking.bench.ts',
  serving: 'serving.bench.ts',
  'prediction-scan': 'prediction-scan.bench.ts',
  gbdt: 'gbdt.bench.ts',
  replays: 'replays/index.ts',
};

const chosen = (process.env.BENCHES ?? Object.keys(BENCHES).join(',')).split(',').filter(Boolean);
for (const name of chosen) {
  if (!(name in BENCHES)) {
    console.error(`BENCHES: unknown benchmark '${name}' (one of ${Object.keys(BENCHES).join(', ')})`);
    process.exit(2);
  }
}

const targetsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-bench-targets-'));
const targetsFile = path.join(targetsDir, 'targets.jsonl');
const failed: string[] = [];
for (const name of chosen) {
  console.log(`\n=== ${name} (bench/${BENCHES[name]}) ===`);
  try {
    execFileSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, BENCHES[name]!)], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_TARGETS_FILE: targetsFile },
    });
  } catch {
    failed.push(name);
  }
}

const figures = readTargets(targetsFile);
console.log('\n=== issue 19: every figure beside its target ===');
printTable(
  ['bench', 'measure', 'sextant', 'target', 'result'],
  figures.map((f) => [
    f.bench,
    f.measure,
    f.value,
    f.target,
    f.met === null ? 'not measured' : f.met ? 'met' : 'MISSED',
  ]),
);
fs.rmSync(targetsDir, { recursive: true, force: true });
if (failed.length > 0) console.log(`failed to run: ${failed.join(', ')}`);
process.exitCode = failed.length > 0 ? 1 : 0;
