import { execFileSync } from 'node:child_process';
import {
  checkOnnx,
  creditDataToTable,
  fitModel,
  generateCreditData,
  rocAuc,
  rowRecords,
  splitRows,
} from '../src/ml/index.js';
import { fmtRatio, intEnv, nowMs, printTable, progress, runCleanups } from './support.js';
import { findXgboostPython, runXgboostHist } from './xgboost-hist.js';

/*
 * ML benchmark (npx tsx bench/ml.bench.ts). Prints tables and ratios; asserts nothing.
 * Trains the built-in gradient-boosted trees on synthetic credit data, BENCH_ML_ROWS rows (100,000)
 * x 20 features (13 credit features + 7 extra columns), 20% held out, and reports training time and
 * validation ROC AUC. Where Debian's python3-xgboost is installed, xgboost's `hist` method trains on
 * exactly the same rows and split with matching params, side by side (1 thread, like Node's one
 * thread, and all cores), and the ratios are printed; otherwise the comparison is skipped, saying why.
 * Knobs: BENCH_ML_ROWS, BENCH_ML_TREES (100), BENCH_ML_DEPTH (6).
 */

const ROWS = intEnv('BENCH_ML_ROWS', 100_000);
const TREES = intEnv('BENCH_ML_TREES', 100);
const DEPTH = intEnv('BENCH_ML_DEPTH', 6);
const SEED = 42;
const params = {
  n_estimators: TREES,
  learning_rate: 0.1,
  max_depth: DEPTH,
  min_child_weight: 1,
  l2: 1,
  max_bin: 255,
  subsample: 1,
  colsample: 1,
};

async function main(): Promise<void> {
  progress(`generating ${ROWS.toLocaleString('en-US')} x 20 synthetic credit rows`);
  const data = generateCreditData({ rows: ROWS, seed: SEED, extraFeatures: 7 });
  const table = creditDataToTable(data);
  const spec = { valFraction: 0.2 } as const;
  const features = data.columns.map((c) => c.name).filter((n) => n !== 'defaulted');

  const rows: string[][] = [];
  const results: Record<string, { seconds: number; auc: number }> = {};
  const split = splitRows(table.rowCount, spec.valFraction, SEED);
  const validRecords = rowRecords(table, features, split.validation);
  const labels = Float64Array.from(split.validation, (i) => Number(data.rows[i]!.defaulted));
  for (const kind of ['gbdt', 'linear'] as const) {
    progress(`fitting ${kind}`);
    // The same split `sextant train` makes for this seed; fit, predict and export timed apart.
    let started = nowMs();
    const model = fitModel({
      table,
      target: 'defaulted',
      features,
      task: 'classification',
      kind,
      params: kind === 'gbdt' ? params : {},
      seed: SEED,
      validation: { rows: split.validation },
    });
    const fitSeconds = (nowMs() - started) / 1000;
    started = nowMs();
    const predictions = model.predict(validRecords);
    const predictSeconds = (nowMs() - started) / 1000;
    started = nowMs();
    const onnx = model.toOnnx();
    const onnxSeconds = (nowMs() - started) / 1000;
    const auc = rocAuc(labels, predictions);
    const check = await checkOnnx(onnx, validRecords.slice(0, 5000), predictions.subarray(0, 5000));
    results[kind] = { seconds: fitSeconds, auc };
    rows.push([
      `sextant ${kind}`,
      fitSeconds.toFixed(2),
      predictSeconds.toFixed(2),
      onnxSeconds.toFixed(2),
      auc.toFixed(4),
      (onnx.length / 1024).toFixed(0),
      check.maxAbsDiff.toExponential(1),
    ]);
  }

  const xgboost = findXgboostPython();
  let comparison: string[] = [];
  if (!xgboost.python) {
    comparison = [`xgboost comparison skipped: ${xgboost.reason}`];
  } else {
    progress('training xgboost hist on the same rows and split');
    const xgbRes = runXgboostHist(xgboost.python, data, features, split.validation, params);
    for (const k of ['threads_1', 'threads_all'] as const) {
      const auc = rocAuc(labels, xgbRes[k].prob);
      rows.push([
        `xgboost ${xgbRes.version} hist (${k.replace('_', ' ')})`,
        xgbRes[k].seconds.toFixed(2),
        '-',
        '-',
        auc.toFixed(4),
        '-',
        '-',
      ]);
      comparison.push(
        `sextant gbdt / xgboost (${k.replace('_', ' ')}): fit time ${fmtRatio(results.gbdt!.seconds / xgbRes[k].seconds)}, ` +
          `AUC ${(results.gbdt!.auc / auc).toFixed(4)}`,
      );
    }
  }

  console.log(
    `\nTree ensemble on ${ROWS.toLocaleString('en-US')} rows x ${features.length} features (${TREES} trees, depth ${DEPTH}, 20% validation)\n`,
  );
  printTable(['TRAINER', 'FIT S', 'PREDICT S', 'ONNX S', 'VAL AUC', 'ONNX KIB', 'ONNX MAX DIFF'], rows);
  console.log('');
  for (const line of comparison) console.log(line);
  console.log(`node ${process.version}, ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores`);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
