import crypto from 'node:crypto';
import os from 'node:os';
import {
  creditDataToTable,
  fitModel,
  generateCreditData,
  rocAuc,
  rowRecords,
  splitRows,
} from '../src/ml/index.js';
import { fmtRatio, intEnv, median, nowMs, printTable, progress, runCleanups } from './support.js';
import { reportTarget } from './targets.js';
import { findXgboostPython, XGBOOST_ANCHOR, xgboostHist } from './xgboost-hist.js';

/*
 * Tree training across threads (npm run bench:gbdt). Prints tables and ratios; asserts nothing.
 * The built-in gradient-boosted trees on BENCH_GBDT_ROWS (100,000) x 20 synthetic credit rows, 100
 * trees, depth 6, 20% held out, fitted with 1 thread and with 2 threads, interleaved
 * BENCH_GBDT_ROUNDS times (5) so load spikes hit both alike, after one untimed fit of each (the
 * process's first fit runs unoptimised code, its first 2-thread fit starts the workers: printed
 * apart, as what a one-off `sextant train` pays); the table shows median fit times, the
 * 1-to-2-thread speedup (target: at least 1.6x on 2 cores), whether both gave the same model bytes
 * (they must), and the ratio to xgboost hist with the same thread count (target: at most 1.5x).
 * Where xgboost is installed (python3 on PATH, else Debian's /usr/bin/python3 with python3-xgboost),
 * it trains on the same rows and split with nthread 1 and 2, interleaved with our fits in every
 * round; where it is not, its published figures on this machine class stand in, and the table says
 * so.
 */

const ROWS = intEnv('BENCH_GBDT_ROWS', 100_000);
const ROUNDS = intEnv('BENCH_GBDT_ROUNDS', 5);
const SEED = 42;
const params = {
  n_estimators: intEnv('BENCH_GBDT_TREES', 100),
  learning_rate: 0.1,
  max_depth: 6,
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
  const features = data.columns.map((c) => c.name).filter((n) => n !== 'defaulted');
  const split = splitRows(table.rowCount, 0.2, SEED);
  const validRecords = rowRecords(table, features, split.validation);
  const labels = Float64Array.from(split.validation, (i) => Number(data.rows[i]!.defaulted));

  const threadCounts = [1, 2] as const;
  const seconds = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
  const outcome = new Map<number, { auc: number; digest: string }>();
  const xgboost = findXgboostPython();
  const xgb = xgboost.python ? xgboostHist(xgboost.python, data, features, split.validation) : undefined;
  const xgbSeconds = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
  const cpu = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
  const xgbCpu = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
  const xgbAuc = new Map<number, number>();
  let xgbVersion = '';
  /** One fit, timed (wall and CPU seconds of this process, all its threads). */
  const fitOnce = (threads: number) => {
    const started = nowMs();
    const cpuStarted = process.cpuUsage();
    const model = fitModel({
      table,
      target: 'defaulted',
      features,
      task: 'classification',
      kind: 'gbdt',
      params,
      seed: SEED,
      threads,
      validation: { rows: split.validation },
    });
    const used = process.cpuUsage(cpuStarted);
    return { model, seconds: (nowMs() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  };
  // The first fit of a process runs code V8 has not optimised yet, and the first 2-thread one starts
  // the workers (its shared code is warm by then): shown on their own, not in the medians (a sweep,
  // or a server that trains, is past them).
  const cold = new Map<number, number>();
  for (const threads of threadCounts) {
    progress(`warm-up: fitting with ${threads} thread(s) (not in the medians)`);
    cold.set(threads, fitOnce(threads).seconds);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const threads of round % 2 === 0 ? threadCounts : [...threadCounts].reverse()) {
      if (xgb) {
        progress(`round ${round + 1}/${ROUNDS}: xgboost hist with nthread=${threads}`);
        const res = xgb(params, [threads]);
        const run = res.runs[threads]!;
        xgbVersion = res.version;
        xgbSeconds.get(threads)!.push(run.seconds);
        xgbCpu.get(threads)!.push(run.cpuSeconds);
        xgbAuc.set(threads, rocAuc(labels, run.prob));
      }
      progress(`round ${round + 1}/${ROUNDS}: fitting with ${threads} thread(s)`);
      const { model, seconds: fitted, cpuSeconds } = fitOnce(threads);
      seconds.get(threads)!.push(fitted);
      cpu.get(threads)!.push(cpuSeconds);
      const digest = crypto.createHash('sha256').update(model.toOnnx()).digest('hex').slice(0, 16);
      outcome.set(threads, { auc: rocAuc(labels, model.predict(validRecords)), digest });
    }
  }

  let baseline: {
    label: string;
    seconds: Record<1 | 2, number>;
    auc: Record<1 | 2, number>;
    comparable: boolean;
  };
  if (xgb) {
    baseline = {
      label: `xgboost ${xgbVersion} hist, measured here with the same thread counts, interleaved (median of ${ROUNDS})`,
      seconds: { 1: median(xgbSeconds.get(1)!), 2: median(xgbSeconds.get(2)!) },
      auc: { 1: xgbAuc.get(1)!, 2: xgbAuc.get(2)! },
      comparable: true,
    };
  } else {
    baseline = {
      label: `xgboost ${XGBOOST_ANCHOR.version} hist, PUBLISHED ANCHOR (not measured: ${xgboost.reason})`,
      seconds: { 1: XGBOOST_ANCHOR.threads1Seconds, 2: XGBOOST_ANCHOR.threads2Seconds },
      auc: { 1: XGBOOST_ANCHOR.auc, 2: XGBOOST_ANCHOR.auc },
      // The anchor was measured on the default shape only.
      comparable: ROWS === 100_000 && params.n_estimators === 100,
    };
  }

  const fitSeconds = (t: 1 | 2) => median(seconds.get(t)!);
  console.log(
    `\nGBDT on ${ROWS.toLocaleString('en-US')} rows x ${features.length} features (${params.n_estimators} trees, depth 6, 255 bins), median of ${ROUNDS}\n`,
  );
  printTable(
    [
      'THREADS',
      'FIT S',
      'VAL AUC',
      'MODEL SHA-256',
      'XGBOOST S',
      'XGBOOST AUC',
      'RATIO TO XGBOOST',
      'TARGET',
    ],
    threadCounts.map((t) => [
      String(t),
      fitSeconds(t).toFixed(2),
      outcome.get(t)!.auc.toFixed(4),
      outcome.get(t)!.digest,
      baseline.seconds[t].toFixed(2),
      baseline.auc[t].toFixed(4),
      baseline.comparable ? fmtRatio(fitSeconds(t) / baseline.seconds[t]) : 'n/a (other shape)',
      '<= 1.50x',
    ]),
  );
  console.log('');
  console.log(`baseline: ${baseline.label}`);
  console.log(`speedup, 1 -> 2 threads: ${fmtRatio(fitSeconds(1) / fitSeconds(2))} (target >= 1.60x)`);
  console.log(
    `first fits in this process, not in the medians: 1 thread ${cold.get(1)!.toFixed(2)} s (code not yet optimised), then 2 threads ${cold.get(2)!.toFixed(2)} s (workers starting)`,
  );
  console.log(
    `same model bytes for 1 and 2 threads: ${outcome.get(1)!.digest === outcome.get(2)!.digest ? 'yes' : 'NO'}`,
  );
  console.log(
    `AUC minus xgboost's: ${(outcome.get(1)!.auc - baseline.auc[1]).toFixed(4)} (target within 0.002)`,
  );
  if (xgb) {
    // CPU seconds (all threads of each process) move less with load than wall time: a steadier
    // view of the work each side does, though not a target.
    for (const t of threadCounts) {
      const ours = median(cpu.get(t)!);
      const theirs = median(xgbCpu.get(t)!);
      console.log(
        `CPU seconds, ${t} thread(s): ${ours.toFixed(2)} against xgboost's ${theirs.toFixed(2)} (${fmtRatio(ours / theirs)})`,
      );
    }
  }
  console.log(
    `node ${process.version}, ${os.availableParallelism()} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  const speedup = fitSeconds(1) / fitSeconds(2);
  const aucGap = Math.abs(outcome.get(1)!.auc - baseline.auc[1]);
  const vsXgb = fitSeconds(1) / baseline.seconds[1];
  reportTarget({
    bench: 'gbdt',
    measure: `fit 1 thread vs ${baseline.comparable ? 'xgboost hist, 1 thread' : 'xgboost (not comparable: other shape)'}`,
    value: fmtRatio(vsXgb),
    target: '<= 1.50x',
    met: baseline.comparable ? vsXgb <= 1.5 : null,
  });
  reportTarget({
    bench: 'gbdt',
    measure: 'fit, 2 threads vs 1',
    value: fmtRatio(speedup),
    target: '>= 1.60x',
    met: speedup >= 1.6,
  });
  reportTarget({
    bench: 'gbdt',
    measure: "validation AUC minus xgboost's",
    value: (outcome.get(1)!.auc - baseline.auc[1]).toFixed(4),
    target: 'within 0.002',
    met: aucGap <= 0.002,
  });
  const same = outcome.get(1)!.digest === outcome.get(2)!.digest;
  reportTarget({
    bench: 'gbdt',
    measure: 'model bytes, 1 vs 2 threads',
    value: same ? 'identical' : 'DIFFERENT',
    target: 'identical',
    met: same,
  });
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
