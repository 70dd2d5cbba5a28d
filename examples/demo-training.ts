/*
 * The Sextant demo story, training chapter: a small gradient-boosted-trees sweep on a dataset version
 * (trials as child runs, median early stopping), an evaluation of the best model's ONNX file on the
 * same version with metrics per value of the protected attribute, and a reproduction of the best run
 * that proves the retrained model byte-identical. The lead's demo calls trainingChapter after it has
 * added the synthetic credit data (src/ml/synthetic.ts) as a dataset version.
 */

import { table } from '../src/cli/output.js';
import type { SextantApi } from '../src/client/index.js';
import {
  CREDIT_PROTECTED,
  evaluateModel,
  inProcessTrialRunner,
  loadStoredModel,
  reproduceRun,
  runSweep,
} from '../src/ml/index.js';

/** The experiment the training chapter's sweep runs in (the cost chapter sweeps there too). */
export const TRAINING_EXPERIMENT = 'demo-training';
const EXPERIMENT = TRAINING_EXPERIMENT;
const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
const fmt = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(4));

/** Runs a small sweep, evaluates the best model and reproduces it; returns the best run's id. */
export async function trainingChapter(
  api: SextantApi,
  opts: { datasetRef: string; target: string; workDir: string },
): Promise<{ bestRunId: string }> {
  console.log('Chapter: training, evaluation, reproducibility');
  console.log(
    `  sweep: gbdt on ${opts.datasetRef}, target '${opts.target}', learning_rate x max_depth, median stopping`,
  );
  const sweep = await runSweep(
    api,
    {
      base: {
        datasetRef: opts.datasetRef,
        target: opts.target,
        kind: 'gbdt',
        seed: 7,
        params: { n_estimators: '60' },
      },
      grid: { learning_rate: ['0.3', '0.1', '0.003'], max_depth: ['3', '5'] },
      parallel: 1,
      earlyStop: 'median',
      warmup: 10,
    },
    {
      experiment: EXPERIMENT,
      runName: 'demo-sweep',
      workDir: opts.workDir,
      trials: inProcessTrialRunner(api),
      onTrial: (t) =>
        console.log(
          `  trial ${t.trial} ${JSON.stringify(t.params)}: ${t.status}` +
            `${t.earlyStopped ? `, stopped early after ${t.iterations} trees` : ''}, val AUC ${fmt(t.objective)}`,
        ),
    },
  );
  const best = sweep.best!;
  const bestRunId = best.runId!;
  console.log(
    `  best: trial ${best.trial} (run ${best.runId}), val AUC ${fmt(best.objective)}; parent run ${sweep.parentRunId}`,
  );

  // The model is scored from its stored ONNX file by onnxruntime, as any deployment would score it.
  const stored = await loadStoredModel(api, { runId: bestRunId });
  const slice = stored.signature?.inputs.some((i) => i.name === CREDIT_PROTECTED)
    ? CREDIT_PROTECTED
    : undefined;
  const evaluation = await evaluateModel(api, {
    runId: bestRunId,
    datasetRef: opts.datasetRef,
    workDir: opts.workDir,
    ...(slice ? { slice } : {}),
  });
  console.log(
    `\n  evaluation of the best model's ONNX file on all ${evaluation.rows} rows of ${evaluation.dataset.ref}:`,
  );
  console.log(
    indent(
      table(
        ['METRIC', 'VALUE'],
        Object.entries(evaluation.metrics).map(([k, v]) => [k, fmt(v)]),
      ),
    ),
  );
  if (evaluation.slices) {
    console.log(`\n  per ${evaluation.slices.column} (the fairness work builds on these slices):`);
    console.log(
      indent(
        table(
          [evaluation.slices.column.toUpperCase(), 'COUNT', 'ROC_AUC', 'RECALL', 'PRECISION'],
          evaluation.slices.values.map((s) => [
            s.slice,
            s.count,
            fmt(s.metrics.roc_auc),
            fmt(s.metrics.recall),
            fmt(s.metrics.precision),
          ]),
        ),
      ),
    );
  }

  console.log(`\n  reproducing run ${best.runId} from its record (params, seed, dataset digest):`);
  const again = await reproduceRun(api, { runId: bestRunId, workDir: opts.workDir });
  console.log(
    `  new run ${again.newRunId}: ${again.byteIdentical ? 'byte-identical model' : 'model differs'} ` +
      `(sha256 ${again.newSha256?.slice(0, 16)}...)`,
  );
  console.log(`  try: sextant models reproduce --run ${best.runId}   (or <model>@<version> once registered)`);
  return { bestRunId };
}
