import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packBatch } from '../src/serving/ledger/prediction-row.js';
import { encodeFrame, SEGMENT_MAGIC } from '../src/serving/ledger/segment-file.js';
import { buildSealedSegment } from '../src/serving/ledger/segment-seal-parquet.js';
import { fmtInt, intEnv, numberRecords, printTable, progress, runCleanups, tempDir } from './support.js';

/*
 * The seal tax of the prediction log: the CPU the seal thread spends turning a segment file of
 * BENCH_SEAL_ROWS predictions into its Parquet file: decode, the JSON columns, typed input columns,
 * DuckDB's write, and the Parquet file's size. Two shapes (BENCH_SEAL_SHAPE): `scan` (default), 20 number features f0..f19 in
 * 1,000-row entries, as the scan bench logs them; `linear`, the serving bench's linear model: 30
 * number features x0..x29 in entries of 32 records (a batch request), 32 entries a frame, with class
 * probabilities as outputs.
 * It runs buildSealedSegment in this process (what segment-seal-worker.ts runs), timed by
 * process.cpuUsage, which counts DuckDB's threads too; wall-clock time on a shared machine says less.
 * The best of BENCH_SEAL_REPS builds. Run it from two checkouts side by side to compare.
 */

const ROWS = intEnv('BENCH_SEAL_ROWS', 100_000);
const REPS = intEnv('BENCH_SEAL_REPS', 3);
const LINEAR = process.env.BENCH_SEAL_SHAPE === 'linear';
const FEATURES = LINEAR ? 30 : 20;
const PREFIX = LINEAR ? 'x' : 'f';
/** Records per entry, and entries per frame. */
const BATCH = LINEAR ? 32 : 1000;
const PER_FRAME = LINEAR ? 32 : 1;

async function main() {
  const dir = tempDir('sextant-seal-bench-');
  const names = Array.from({ length: FEATURES }, (_, i) => `${PREFIX}${i}`);
  const t0 = Date.UTC(2026, 11, 1);
  const records = numberRecords(names);
  const frames: Buffer[] = [SEGMENT_MAGIC];
  let frame: ReturnType<typeof packBatch>[] = [];
  for (let done = 0; done < ROWS; done += BATCH) {
    const n = Math.min(BATCH, ROWS - done);
    const inputs = records(n);
    const entry = packBatch({
      ids: Array.from({ length: n }, (_, i) => `pred_${String(done + i).padStart(12, '0')}`),
      deploymentId: 'dep_bench',
      modelVersionId: 'mv_bench',
      model: 'bench',
      version: 1,
      alias: null,
      role: 'champion',
      servedAt: t0 + done,
      requestKey: null,
      inputs,
      outputs: inputs.map((r) => {
        const p = r[names[0] as string] ?? 0;
        return LINEAR
          ? { prediction: p > 0.5 ? 1 : 0, probabilities: { '0': 1 - p, '1': p } }
          : { prediction: p > 0.5 ? 1 : 0 };
      }),
      latencyUs: 100,
      shadow: null,
    });
    frame.push(entry);
    if (frame.length === PER_FRAME) {
      frames.push(encodeFrame(frame));
      frame = [];
    }
  }
  if (frame.length > 0) frames.push(encodeFrame(frame));
  const file = path.join(dir, 'segment.seg');
  writeFileSync(file, Buffer.concat(frames));
  const runs: { cpuMs: number; wallMs: number; bytes: number }[] = [];
  for (let k = 0; k < REPS; k++) {
    progress(`sealing ${fmtInt(ROWS)} rows (${k + 1} of ${REPS})`);
    const out = path.join(dir, `build-${k}`);
    mkdirSync(out);
    const cpu = process.cpuUsage();
    const start = performance.now();
    const built = await buildSealedSegment(file, out);
    const used = process.cpuUsage(cpu);
    if (built.summary.rowCount !== ROWS) throw new Error(`sealed ${built.summary.rowCount} rows of ${ROWS}`);
    runs.push({
      cpuMs: (used.user + used.system) / 1000,
      wallMs: performance.now() - start,
      bytes: statSync(built.parquet as string).size,
    });
  }
  const best = runs.reduce((a, b) => (b.cpuMs < a.cpuMs ? b : a));
  printTable(
    ['what', 'rows', 'CPU (best)', 'CPU per row', 'wall (that build)', 'Parquet bytes'],
    [
      [
        `seal a segment, ${FEATURES} number features, ${BATCH}-row entries`,
        fmtInt(ROWS),
        `${best.cpuMs.toFixed(0)} ms`,
        `${((best.cpuMs * 1000) / ROWS).toFixed(1)} us`,
        `${best.wallMs.toFixed(0)} ms`,
        fmtInt(best.bytes),
      ],
    ],
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(runCleanups);
