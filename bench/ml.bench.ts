import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  checkOnnx,
  creditDataToTable,
  fitModel,
  generateCreditData,
  rocAuc,
  rowRecords,
  splitRows,
} from '../src/ml/index.js';
import { fmtRatio, intEnv, nowMs, printTable, progress, runCleanups, tempDir } from './support.js';

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

/**
 * The first Python that imports xgboost: `python3` on PATH (often a pyenv or venv), then Debian's
 * /usr/bin/python3, where the python3-xgboost package installs it.
 */
function findXgboostPython(): { python?: string; reason?: string } {
  const reasons: string[] = [];
  for (const python of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(python, ['-c', 'import xgboost, numpy; print(xgboost.__version__)'], {
      encoding: 'utf8',
    });
    if (probe.error) reasons.push(`${python} is not available (${probe.error.message})`);
    else if (probe.status !== 0)
      reasons.push(
        `${python} cannot import xgboost (${probe.stderr.trim().split('\n').at(-1) ?? 'import failed'})`,
      );
    else return { python };
  }
  return { reason: `${reasons.join('; ')}; install Debian's python3-xgboost to compare` };
}

const PY = `
import json, sys, time, numpy as np, xgboost as xgb
d = np.loadtxt(sys.argv[1], delimiter=',', skiprows=1)
valid = np.loadtxt(sys.argv[2], dtype=int)
mask = np.zeros(len(d), dtype=bool); mask[valid] = True
X, y = d[:, :-1], d[:, -1]
p = json.loads(sys.argv[3])
out = {}
# The core training API (no scikit-learn needed, which Debian's python3-xgboost does not pull in).
train, test = xgb.DMatrix(X[~mask], label=y[~mask]), xgb.DMatrix(X[mask])
for threads in (1, 0):
    params = {'tree_method': 'hist', 'objective': 'binary:logistic', 'eta': p['learning_rate'],
        'max_depth': p['max_depth'], 'min_child_weight': p['min_child_weight'], 'lambda': p['l2'],
        'max_bin': p['max_bin'] + 1, 'subsample': 1.0, 'colsample_bytree': 1.0, 'seed': 42}
    if threads: params['nthread'] = threads
    t = time.perf_counter(); booster = xgb.train(params, train, num_boost_round=p['n_estimators']); s = time.perf_counter() - t
    prob = booster.predict(test)
    out['threads_1' if threads == 1 else 'threads_all'] = {'seconds': s, 'prob': prob.tolist()}
out['version'] = xgb.__version__
print(json.dumps(out))
`;

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
    const dir = tempDir('sextant-ml-bench-');
    // Categoricals as ordinal codes (xgboost's numeric input); the target last.
    const codes = new Map<string, Map<string, number>>();
    const code = (col: string, v: string) => {
      const m = codes.get(col) ?? new Map<string, number>();
      codes.set(col, m);
      if (!m.has(v)) m.set(v, m.size);
      return m.get(v)!;
    };
    const lines = [[...features, 'defaulted'].join(',')];
    for (const r of data.rows) {
      lines.push(
        [...features, 'defaulted']
          .map((f) => (typeof r[f] === 'string' ? code(f, r[f] as string) : r[f]))
          .join(','),
      );
    }
    fs.writeFileSync(path.join(dir, 'data.csv'), lines.join('\n'));
    fs.writeFileSync(path.join(dir, 'valid.txt'), split.validation.join('\n'));
    const out = execFileSync(
      xgboost.python,
      ['-c', PY, path.join(dir, 'data.csv'), path.join(dir, 'valid.txt'), JSON.stringify(params)],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      },
    );
    const xgbRes = JSON.parse(out) as Record<
      'threads_1' | 'threads_all',
      { seconds: number; prob: number[] }
    > & { version: string };
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
