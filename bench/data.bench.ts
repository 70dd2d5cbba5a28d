/*
 * Dataset-version benchmarks, each against a baseline run side by side on the same files:
 *   1. adding one big file      vs `cp` + `sync <file>`           (target: at most 1.2x the time)
 *   2. hashing a changed big file (`data status`) vs `openssl dgst -sha256` (target: >= 0.8x throughput)
 *   3. adding many 100 KB files on all cores vs the same add single-threaded (target: >= 1.5x the rate)
 *   4. `data status` on many unchanged files vs `find -printf` of size, mtime, inode (target: <= 2x)
 * Sizes come from the environment so it can run small:
 *   DATA_BENCH_BIG_MB (1024), DATA_BENCH_SMALL_FILES (10000), DATA_BENCH_SMALL_KB (100),
 *   DATA_BENCH_STATUS_FILES (100000), DATA_BENCH_REPS (3).
 * Run: npx tsx bench/data.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openWorkspace } from '../src/app/index.js';
import { createLocalApi } from '../src/cli/local-api.js';
import { addVersionWith, uploadEach } from '../src/client/data-api.js';
import { loadConfig } from '../src/core/config.js';
import {
  addPath,
  computeStatus,
  HashCache,
  hashScanned,
  ManifestCache,
  scanPath,
  statusOfPath,
} from '../src/data/index.js';
import { fmtMs, fmtRatio, median, nowMs, progress } from './support.js';

const MiB = 1024 * 1024;
const BIG_MB = Number(process.env.DATA_BENCH_BIG_MB ?? 1024);
const SMALL_FILES = Number(process.env.DATA_BENCH_SMALL_FILES ?? 10_000);
const SMALL_KB = Number(process.env.DATA_BENCH_SMALL_KB ?? 100);
const STATUS_FILES = Number(process.env.DATA_BENCH_STATUS_FILES ?? 100_000);
const REPS = Number(process.env.DATA_BENCH_REPS ?? 3);
// DATA_BENCH_ONLY=big,hash,small,status runs a subset.
const ONLY = new Set((process.env.DATA_BENCH_ONLY ?? 'big,hash,small,status').split(','));
// The CLI on a local workspace hashes every new file while storing it (threshold 0); the big file is
// well above this either way.
const HASH_WHILE_STORING_ABOVE = 64 * MiB;

const root = path.resolve('.tmp', `data-bench-${process.pid}`);

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = nowMs();
  await fn();
  return nowMs() - start;
}

/** A file of random-looking bytes; `stamp` rewrites its first bytes so every repetition is new content. */
function writeBigFile(file: string, mb: number): void {
  const block = randomBytes(MiB);
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < mb; i++) {
    block.writeUInt32LE(i, 0);
    fs.writeSync(fd, block);
  }
  fs.closeSync(fd);
}

function stamp(file: string, tag: string): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from(tag.padEnd(32, '.')), 0, 32, 0);
  fs.closeSync(fd);
}

const rows: string[][] = [];
function report(
  name: string,
  sextant: string,
  baseline: string,
  ratio: number,
  target: string,
  met: boolean,
) {
  rows.push([name, sextant, baseline, fmtRatio(ratio), `${target}: ${met ? 'met' : 'NOT met'}`]);
}

async function main(): Promise<void> {
  fs.mkdirSync(root, { recursive: true });
  const home = path.join(root, 'home');
  const ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home }));
  const api = createLocalApi(ws);
  console.log(
    `data bench: ${os.availableParallelism()} cores, node ${process.version}; big file ${BIG_MB} MiB, ${SMALL_FILES} x ${SMALL_KB} KB, status on ${STATUS_FILES} files, ${REPS} reps\n`,
  );
  try {
    const big = path.join(root, 'big.bin');
    if (ONLY.has('big') || ONLY.has('hash')) {
      // 1. Big file add vs cp + sync.
      progress(`writing a ${BIG_MB} MiB file`);
      writeBigFile(big, BIG_MB);
    }
    if (ONLY.has('big')) {
      const cpTimes: number[] = [];
      const addTimes: number[] = [];
      for (let r = 0; r < REPS; r++) {
        stamp(big, `cp-${r}`);
        const copy = path.join(root, `copy-${r}.bin`);
        cpTimes.push(await time(() => sh('sh', ['-c', `cp "${big}" "${copy}" && sync "${copy}"`])));
        fs.rmSync(copy);
        stamp(big, `add-${r}`);
        addTimes.push(
          await time(() =>
            addPath(api.data, big, { dataset: 'bench-big', hashWhileStoringAbove: HASH_WHILE_STORING_ABOVE }),
          ),
        );
        progress(`big add rep ${r + 1}: cp+sync ${fmtMs(cpTimes[r]!)} ms, add ${fmtMs(addTimes[r]!)} ms`);
      }
      const bigRatio = median(addTimes) / median(cpTimes);
      report(
        `add ${BIG_MB} MiB file`,
        `${fmtMs(median(addTimes))} ms`,
        `cp+sync ${fmtMs(median(cpTimes))} ms`,
        bigRatio,
        '<= 1.2x',
        bigRatio <= 1.2,
      );
    }
    if (ONLY.has('hash')) {
      // 2. Hashing a changed big file (status) vs openssl.
      const cache = new HashCache(home);
      const sslTimes: number[] = [];
      const statusTimes: number[] = [];
      for (let r = 0; r < REPS; r++) {
        stamp(big, `hash-${r}`);
        sslTimes.push(await time(() => sh('openssl', ['dgst', '-sha256', big])));
        stamp(big, `status-${r}`);
        statusTimes.push(
          await time(async () => {
            const scanned = await hashScanned(scanPath(big).files, { cache });
            computeStatus('bench-big', undefined, scanned);
          }),
        );
      }
      const hashRatio = median(sslTimes) / median(statusTimes);
      const mbps = (ms: number) => `${((BIG_MB / ms) * 1000).toFixed(0)} MiB/s`;
      report(
        `status: hash changed ${BIG_MB} MiB file`,
        mbps(median(statusTimes)),
        `openssl ${mbps(median(sslTimes))}`,
        hashRatio,
        '>= 0.8x',
        hashRatio >= 0.8,
      );
    }
    fs.rmSync(big, { force: true });

    if (ONLY.has('small')) {
      // 3. Many small files: all cores vs one thread, one upload at a time.
      const smallDir = path.join(root, 'small');
      progress(`writing ${SMALL_FILES} files of ${SMALL_KB} KB`);
      const body = randomBytes(SMALL_KB * 1024);
      const writeSmall = (tag: string) => {
        for (let i = 0; i < SMALL_FILES; i++) {
          const dir = path.join(smallDir, String(Math.floor(i / 1000)));
          if (i % 1000 === 0) fs.mkdirSync(dir, { recursive: true });
          body.write(`${tag}-${i}`.padEnd(24, '.'), 0);
          fs.writeFileSync(path.join(dir, `f${i}.bin`), body);
        }
      };
      writeSmall('single');
      // The baseline is the same pipeline held to one thread: one hashing worker, one blob put at a time.
      const single = await time(() =>
        addPath(
          {
            add: (input) =>
              addVersionWith(
                { ...api.data, uploadFiles: (files, onStored) => uploadEach(api.data, files, 1, onStored) },
                input,
              ),
          },
          smallDir,
          {
            dataset: 'bench-small-1',
            threads: 1,
          },
        ),
      );
      writeSmall('parallel');
      const parallel = await time(() => addPath(api.data, smallDir, { dataset: 'bench-small-n' }));
      const smallRatio = single / parallel;
      const rate = (ms: number) => `${((SMALL_FILES / ms) * 1000).toFixed(0)} files/s`;
      report(
        `add ${SMALL_FILES} x ${SMALL_KB} KB files`,
        `${rate(parallel)} (${fmtMs(parallel)} ms)`,
        `1 thread ${rate(single)} (${fmtMs(single)} ms)`,
        smallRatio,
        '>= 1.5x',
        smallRatio >= 1.5,
      );
      fs.rmSync(smallDir, { recursive: true, force: true });
    }
    if (ONLY.has('status')) {
      // 4. Status on many unchanged files vs find -printf. 100 distinct contents keep the add cheap.
      const manyDir = path.join(root, 'many');
      progress(`writing ${STATUS_FILES} small files`);
      for (let i = 0; i < STATUS_FILES; i++) {
        const dir = path.join(manyDir, String(Math.floor(i / 1000)));
        if (i % 1000 === 0) fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, `f${i}.txt`), `content ${i % 100}\n`);
      }
      const statusCache = new HashCache(home);
      progress('adding them as a version');
      await addPath(api.data, manyDir, {
        dataset: 'bench-many',
        cache: statusCache,
        manifests: new ManifestCache(home),
      });
      // Exactly what `sextant data status` runs, minus the process start.
      const runStatus = async () => {
        const s = await statusOfPath(api.data, 'bench-many', manyDir, {
          cache: new HashCache(home),
          manifests: new ManifestCache(home),
        });
        if (s.unchanged !== STATUS_FILES || s.cached !== STATUS_FILES)
          throw new Error('status re-read files');
      };
      const findTimes: number[] = [];
      const stTimes: number[] = [];
      for (let r = 0; r < REPS; r++) {
        findTimes.push(
          await time(() =>
            sh('sh', ['-c', `find "${manyDir}" -type f -printf '%s %T@ %i %p\\n' > /dev/null`]),
          ),
        );
        stTimes.push(await time(runStatus));
      }
      const statusRatio = median(stTimes) / median(findTimes);
      report(
        `status: ${STATUS_FILES} unchanged files`,
        `${fmtMs(median(stTimes))} ms`,
        `find -printf ${fmtMs(median(findTimes))} ms`,
        statusRatio,
        '<= 2x',
        statusRatio <= 2,
      );
    }
  } finally {
    await ws.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
  const widths = [0, 1, 2, 3, 4].map((i) =>
    Math.max(...[['benchmark', 'sextant', 'baseline', 'ratio', 'target'], ...rows].map((r) => r[i]!.length)),
  );
  for (const r of [['benchmark', 'sextant', 'baseline', 'ratio', 'target'], ...rows]) {
    console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  }
}

main().catch((err) => {
  console.error(err);
  fs.rmSync(root, { recursive: true, force: true });
  process.exitCode = 1;
});
