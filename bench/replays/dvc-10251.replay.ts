import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seededRandom } from '../../src/core/random.js';
import { fmtInt, fmtMs, fmtRatio, intEnv, median, nowMs, printTable, progress } from '../support.js';
import { reportTarget } from '../targets.js';

/*
 * Replay of DVC issue 10251's shape: `dvc add` of 2,554 files, 21 GB in all, took 412 s where
 * md5sum of the same files took 40 s (10.3x). Here `sextant data add <folder>` runs through the CLI
 * as a user runs it (node bin/sextant.js, a fresh SEXTANT_HOME each time, initialised before the
 * clock starts, so nothing is deduplicated or cached), against `cp -r` of the same tree followed by `sync` of every copied file (the blob
 * store fsyncs each blob it keeps, so the baseline makes its copies as durable). The two alternate,
 * REPLAY_10251_REPS times each; medians are compared. Target: the add within 1.2x of cp + sync.
 *
 * Scaled down to fit a shared disk with the same file count and size mix: 14 large files hold about
 * two thirds of the bytes, 2,540 small ones (1 KB to 1 MB, log-uniform) the rest.
 * Knobs: REPLAY_10251_MB (2048: total size), REPLAY_10251_FILES (2554), REPLAY_10251_REPS (3).
 * Everything is written under .tmp/ and deleted at the end (at most about 3x the total at once).
 */

const MiB = 1024 * 1024;
const TOTAL_MB = intEnv('REPLAY_10251_MB', 2048);
const FILES = intEnv('REPLAY_10251_FILES', 2554);
const REPS = intEnv('REPLAY_10251_REPS', 3);
const LARGE = Math.min(14, FILES);
const TARGET = 1.2;
const ANCHOR = 'dvc add 412 s vs md5sum 40 s = 10.3x (issue 10251, 21 GB)';

const root = path.resolve('.tmp', `replay-10251-${process.pid}`);
const bin = path.resolve('bin', 'sextant.js');

/** The tree: small files with log-uniform sizes, then a few large ones filling about 2/3 of the total. */
function writeTree(dir: string): { files: number; bytes: number } {
  const next = seededRandom(10251);
  const block = randomBytes(MiB);
  let bytes = 0;
  const small = FILES - LARGE;
  // Log-uniform sizes from 1 KB to 1 MB, scaled so the small files hold a third of the total.
  const raw = Array.from({ length: small }, () => 1024 * 1024 ** next());
  const rawSum = raw.reduce((a, b) => a + b, 0);
  const smallScale = (TOTAL_MB * MiB) / 3 / rawSum;
  const write = (file: string, size: number, id: number) => {
    const fd = fs.openSync(file, 'w');
    try {
      for (let off = 0; off < size; off += MiB) {
        const n = Math.min(MiB, size - off);
        // Each file's (and each MiB's) first bytes differ, so no two files share content.
        block.writeUInt32LE(id, 0);
        block.writeUInt32LE(off / MiB, 4);
        fs.writeSync(fd, block, 0, n);
      }
    } finally {
      fs.closeSync(fd);
    }
    bytes += size;
  };
  for (let i = 0; i < small; i++) {
    const sub = path.join(dir, `shard-${String(i % 16).padStart(2, '0')}`);
    fs.mkdirSync(sub, { recursive: true });
    write(
      path.join(sub, `part-${String(i).padStart(5, '0')}.bin`),
      Math.max(16, Math.round(raw[i]! * smallScale)),
      i,
    );
  }
  const largeSize = Math.floor(((TOTAL_MB * MiB * 2) / 3 / LARGE / MiB) * MiB);
  fs.mkdirSync(path.join(dir, 'large'), { recursive: true });
  for (let i = 0; i < LARGE; i++) write(path.join(dir, 'large', `blob-${i}.bin`), largeSize, small + i);
  return { files: FILES, bytes };
}

function timeMs(fn: () => void): number {
  const start = nowMs();
  fn();
  return nowMs() - start;
}

function cpSync(src: string, dst: string): number {
  const ms = timeMs(() =>
    execFileSync(
      'sh',
      ['-c', `cp -r "${src}" "${dst}" && find "${dst}" -type f -print0 | xargs -0 sync --`],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    ),
  );
  fs.rmSync(dst, { recursive: true, force: true });
  return ms;
}

/** This environment without SEXTANT_URL and SEXTANT_DATABASE_URL: the CLI works on its own home. */
function localEnv(): NodeJS.ProcessEnv {
  const { SEXTANT_URL: _url, SEXTANT_DATABASE_URL: _db, SEXTANT_BLOB_URL: _blobs, ...rest } = process.env;
  return rest;
}

function dataAdd(src: string, home: string, rep: number): number {
  const env = { ...localEnv(), SEXTANT_HOME: home, SEXTANT_LOG_LEVEL: 'silent' };
  // The workspace exists before the clock starts (a user adds to one they have): its database is
  // migrated, its blob store empty, its hash cache cold.
  execFileSync(process.execPath, [bin, 'data', 'ls'], { env, stdio: 'ignore' });
  const ms = timeMs(() =>
    execFileSync(process.execPath, [bin, 'data', 'add', src, '--dataset', `replay-10251-${rep}`], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  fs.rmSync(home, { recursive: true, force: true });
  return ms;
}

function main(): void {
  fs.mkdirSync(root, { recursive: true });
  const src = path.join(root, 'tree');
  try {
    // The CLI rebuilds its bundle when src/ is newer: do it now, outside the clock.
    execFileSync(process.execPath, [bin, '--version'], { stdio: 'ignore' });
    progress(`writing ${fmtInt(FILES)} files, about ${fmtInt(TOTAL_MB)} MiB`);
    const tree = writeTree(src);
    execFileSync('sync', ['-f', src]);
    console.log(
      `\n== replay: DVC issue 10251 — sextant data add (CLI) of ${fmtInt(tree.files)} files, ${fmtInt(tree.bytes / MiB)} MiB ` +
        `(${LARGE} large + ${fmtInt(FILES - LARGE)} small) vs cp -r + sync; ${REPS} reps interleaved; load ${os.loadavg()[0]!.toFixed(1)} ==`,
    );
    const cp: number[] = [];
    const add: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const order = r % 2 === 0 ? (['cp', 'add'] as const) : (['add', 'cp'] as const);
      for (const which of order) {
        if (which === 'cp') cp.push(cpSync(src, path.join(root, `copy-${r}`)));
        else add.push(dataAdd(src, path.join(root, `home-${r}`), r));
      }
      progress(
        `rep ${r + 1}/${REPS}: cp+sync ${fmtMs(cp.at(-1)! / 1000)} s, data add ${fmtMs(add.at(-1)! / 1000)} s, load ${os.loadavg()[0]!.toFixed(1)}`,
      );
    }
    const ratio = median(add) / median(cp);
    printTable(
      ['variant', 'seconds (median)', 'per rep', 'vs cp + sync'],
      [
        [
          'sextant data add (CLI, fresh home)',
          fmtMs(median(add) / 1000),
          add.map((v) => fmtMs(v / 1000)).join(' / '),
          fmtRatio(ratio),
        ],
        [
          'baseline: cp -r + sync of each file',
          fmtMs(median(cp) / 1000),
          cp.map((v) => fmtMs(v / 1000)).join(' / '),
          '1.00x',
        ],
      ],
    );
    console.log(
      `RATIO replay dvc-10251 data-add/cp+sync = ${fmtRatio(ratio)} (target <= ${fmtRatio(TARGET)}; ${ratio <= TARGET ? 'meets' : 'misses'} target; anchor ${ANCHOR}` +
        `${TOTAL_MB === 2048 && FILES === 2554 ? '' : '; REDUCED SCALE: measured at 2,554 files, 2 GiB'})`,
    );
    reportTarget({
      bench: 'replay dvc-10251',
      measure: `data add through the CLI vs cp -r + sync (${fmtInt(FILES)} files, ${fmtInt(TOTAL_MB)} MiB)`,
      value: fmtRatio(ratio),
      target: `<= ${fmtRatio(TARGET)}`,
      met: ratio <= TARGET,
    });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main();
