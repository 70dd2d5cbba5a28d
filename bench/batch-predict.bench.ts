import type * as Ort from 'onnxruntime-node';
import { lazyRequire } from '../src/core/lazy-require.js';
import { creditDataToTable, fitModel, generateCreditData, rowRecords } from '../src/ml/index.js';
import type { ModelVersion } from '../src/registry/index.js';
import { BATCH_ROWS, openBatchModel, scoreRecords, typedColumnsCheck } from '../src/serving/index.js';
import { fmtInt, fmtRatio, intEnv, median, nowMs, printTable, progress } from './support.js';

/*
 * Batch scoring benchmark (npx tsx bench/batch-predict.bench.ts). Prints rows/s and a ratio; asserts
 * nothing. A model trained by the built-in trainer on synthetic credit data scores BENCH_PREDICT_ROWS
 * rows (200,000) two ways, alternating, BENCH_PREDICT_REPEATS times (5) each, medians compared:
 *   bare     onnxruntime-node fed the same rows in batches of BATCH_ROWS: one typed array per input,
 *            filled from the records, one session.run per batch (the least a script must do);
 *   sextant  scoreRecords, what `sextant predict` runs: the typed columns checked once (else the
 *            serving model's per-row checks), its feeds, runs and per-row answers (label + probabilities).
 * Loading the dataset and writing Parquet are left out of both. Target: sextant >= 0.8x bare.
 * Knobs: BENCH_PREDICT_ROWS, BENCH_PREDICT_REPEATS, BENCH_PREDICT_KIND (linear | gbdt).
 */

const ROWS = intEnv('BENCH_PREDICT_ROWS', 200_000);
const REPEATS = intEnv('BENCH_PREDICT_REPEATS', 5);
const KIND = process.env.BENCH_PREDICT_KIND === 'gbdt' ? 'gbdt' : 'linear';
const ort = lazyRequire<typeof Ort>('onnxruntime-node');

/** The baseline: per-input typed arrays filled from the records, one run per batch. */
async function bare(session: Ort.InferenceSession, records: Record<string, unknown>[]): Promise<number> {
  const inputs = session.inputNames.map((name, k) => {
    const meta = session.inputMetadata[k] as { type?: string } | undefined;
    return { name, string: meta?.type === 'string' };
  });
  let checksum = 0;
  for (let start = 0; start < records.length; start += BATCH_ROWS) {
    const n = Math.min(BATCH_ROWS, records.length - start);
    const feeds: Record<string, Ort.Tensor> = {};
    for (const input of inputs) {
      if (input.string) {
        const a = new Array<string>(n);
        for (let i = 0; i < n; i++) a[i] = String(records[start + i]![input.name] ?? '');
        feeds[input.name] = new (ort().Tensor)('string', a, [n, 1]);
      } else {
        const a = new Float32Array(n);
        for (let i = 0; i < n; i++) a[i] = Number(records[start + i]![input.name] ?? Number.NaN);
        feeds[input.name] = new (ort().Tensor)('float32', a, [n, 1]);
      }
    }
    const out = await session.run(feeds);
    checksum += Number((out.probabilities!.data as Float32Array)[1]);
  }
  return checksum;
}

async function main(): Promise<void> {
  progress(`training a ${KIND} model; generating ${fmtInt(ROWS)} rows to score`);
  const train = generateCreditData({ rows: 5000, seed: 1 });
  const features = train.columns.map((c) => c.name).filter((n) => n !== 'defaulted');
  const fitted = fitModel({
    table: creditDataToTable(train),
    target: 'defaulted',
    features,
    task: 'classification',
    kind: KIND,
    params: KIND === 'gbdt' ? { n_estimators: 50, max_depth: 4 } : {},
    seed: 1,
  });
  const bytes = fitted.toOnnx();
  const table = creditDataToTable(generateCreditData({ rows: ROWS, seed: 2 }));
  const records = rowRecords(table, features);
  const version = {
    model: 'bench',
    version: 1,
    signature: { inputs: [], outputs: [], declared: { ...fitted.signature() } },
  } as unknown as ModelVersion;
  const model = await openBatchModel(bytes, version);
  const checked = typedColumnsCheck(model, table.columns);
  const session = await ort().InferenceSession.create(bytes);

  // One warm-up each, then alternate so drift on a shared machine hits both alike.
  await bare(session, records.slice(0, BATCH_ROWS));
  await scoreRecords(model, records.slice(0, BATCH_ROWS), checked);
  const times = { bare: [] as number[], sextant: [] as number[] };
  for (let r = 0; r < REPEATS; r++) {
    progress(`round ${r + 1}/${REPEATS}`);
    let t = nowMs();
    await bare(session, records);
    times.bare.push(nowMs() - t);
    t = nowMs();
    await scoreRecords(model, records, checked);
    times.sextant.push(nowMs() - t);
  }
  await model.release();
  await session.release();

  const rate = (ms: number[]) => ROWS / (median(ms) / 1000);
  const ratio = rate(times.sextant) / rate(times.bare);
  printTable(
    ['path', 'rows', 'median ms', 'rows/s'],
    [
      ['onnxruntime-node, bare', fmtInt(ROWS), median(times.bare).toFixed(0), fmtInt(rate(times.bare))],
      [
        'sextant predict (scoreRecords)',
        fmtInt(ROWS),
        median(times.sextant).toFixed(0),
        fmtInt(rate(times.sextant)),
      ],
    ],
  );
  console.log(
    `\nratio sextant / bare: ${fmtRatio(ratio)} (target >= 0.80x; ${KIND}, batches of ${BATCH_ROWS})`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
