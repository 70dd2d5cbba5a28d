import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CreditData } from '../src/ml/index.js';
import { tempDir } from './support.js';

/*
 * xgboost's `hist` method as the baseline of the tree benchmarks (bench/ml.bench.ts,
 * bench/gbdt.bench.ts): the same rows, split and params, trained in a Python child process with the
 * thread counts asked for (0: all cores). Where xgboost is not installed, the published anchor below
 * stands in.
 */

/** xgboost 1.7.4 hist on this machine class (2 cores), 100,000 x 20 rows, 100 trees, depth 6. */
export const XGBOOST_ANCHOR = { version: '1.7.4', threads1Seconds: 1.46, threads2Seconds: 0.77, auc: 0.7434 };

/**
 * The first Python that imports xgboost: `python3` on PATH (often a pyenv or venv), then Debian's
 * /usr/bin/python3, where the python3-xgboost package installs it.
 */
export function findXgboostPython(): { python?: string; reason?: string } {
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
out['runs'] = {}
for threads in json.loads(sys.argv[4]):
    params = {'tree_method': 'hist', 'objective': 'binary:logistic', 'eta': p['learning_rate'],
        'max_depth': p['max_depth'], 'min_child_weight': p['min_child_weight'], 'lambda': p['l2'],
        'max_bin': p['max_bin'] + 1, 'subsample': 1.0, 'colsample_bytree': 1.0, 'seed': 42}
    if threads: params['nthread'] = threads
    t, c = time.perf_counter(), time.process_time()
    booster = xgb.train(params, train, num_boost_round=p['n_estimators'])
    s, cpu = time.perf_counter() - t, time.process_time() - c
    prob = booster.predict(test)
    out['runs'][str(threads)] = {'seconds': s, 'cpuSeconds': cpu, 'prob': prob.tolist()}
out['version'] = xgb.__version__
print(json.dumps(out))
`;

export interface XgboostResult {
  version: string;
  threads_1: XgboostRun;
  threads_all: XgboostRun;
}

/** One xgboost training: its fit seconds (training only, not loading), CPU seconds and validation probabilities. */
export interface XgboostRun {
  seconds: number;
  /** CPU seconds of the whole Python process over the training, all threads together. */
  cpuSeconds: number;
  prob: number[];
}

/** Trains xgboost hist on the credit rows (categoricals as ordinal codes); probabilities of the validation rows. */
export function runXgboostHist(
  python: string,
  data: CreditData,
  features: string[],
  validation: number[],
  params: Record<string, number>,
): XgboostResult {
  const res = xgboostHist(python, data, features, validation)(params, [1, 0]);
  return { version: res.version, threads_1: res.runs[1]!, threads_all: res.runs[0]! };
}

/**
 * Writes the credit rows for xgboost once and returns a trainer over them: each call starts Python,
 * loads the rows and trains once per thread count in `threads` (so a benchmark can interleave its
 * own fits with xgboost's).
 */
export function xgboostHist(
  python: string,
  data: CreditData,
  features: string[],
  validation: number[],
): (
  params: Record<string, number>,
  threads: number[],
) => { version: string; runs: Record<number, XgboostRun> } {
  const dir = tempDir('sextant-xgboost-bench-');
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
  fs.writeFileSync(path.join(dir, 'valid.txt'), validation.join('\n'));
  return (params, threads) => {
    const out = execFileSync(
      python,
      [
        '-c',
        PY,
        path.join(dir, 'data.csv'),
        path.join(dir, 'valid.txt'),
        JSON.stringify(params),
        JSON.stringify(threads),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 28 },
    );
    return JSON.parse(out) as { version: string; runs: Record<number, XgboostRun> };
  };
}
