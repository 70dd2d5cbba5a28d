/*
 * Story 3, the GPU bill: a placeholder that tells the cost chapter (examples/demo-cost.ts) on its own
 * small model and deployment, with the signature the full story keeps.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Workspace } from '../src/app/index.js';
import type { SextantApi } from '../src/client/index.js';
import { addPath } from '../src/data/index.js';
import { CREDIT_TARGET, generateCreditData, trainModel, writeCreditCsv } from '../src/ml/index.js';
import { costChapter } from './demo-cost.js';

const MODEL = 'gpu-bill-credit';
const EXPERIMENT = 'gpu-bill';

/** Tells the GPU-bill story on `ws`. */
export async function gpuBillStory(
  ws: Workspace,
  api: SextantApi,
  opts: { workDir: string },
): Promise<unknown> {
  console.log('\nStory 3: the GPU bill - what drove the spend, a budget, the idle reaper');
  const dir = path.join(opts.workDir, 'gpu-bill-data');
  fs.mkdirSync(dir, { recursive: true });
  writeCreditCsv(path.join(dir, 'credit.csv'), { rows: 1500, seed: 21 });
  const added = await addPath(api.data, dir, {
    dataset: 'gpu-bill-credit',
    source: 'synthetic://credit?seed=21',
  });
  const datasetRef = `gpu-bill-credit@${added.version.number}`;
  if (!(await api.models.list()).models.some((m) => m.name === MODEL)) {
    const run = await trainModel(
      api,
      { datasetRef, target: CREDIT_TARGET, kind: 'linear', seed: 3 },
      { experiment: EXPERIMENT, runName: 'gpu-bill-baseline' },
    );
    const v = await api.models.register(MODEL, { runId: run.runId, path: 'model' });
    await api.models.setPolicy(MODEL, 'protectedAliases: []\napprovals: 0\n');
    await api.models.setAlias(MODEL, 'champion', v.version, 'the GPU-bill story starting point');
  }
  if (!(await api.serving.deployments.list()).some((d) => d.name === MODEL))
    await api.serving.deployments.create({ name: MODEL, model: `${MODEL}@champion` });
  const { [CREDIT_TARGET]: _label, ...record } = generateCreditData({ rows: 1, seed: 5 }).rows[0]!;
  return costChapter(ws, {
    experiment: EXPERIMENT,
    datasetRef,
    target: CREDIT_TARGET,
    deployment: MODEL,
    record,
    workDir: opts.workDir,
  });
}
