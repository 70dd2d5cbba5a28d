/*
 * The chapter tour (the demo before it became the three stories: examples/demo.ts): every feature one
 * chapter at a time, on the embedded default: SQLite + a local folder under SEXTANT_HOME
 * (./.sextant); no downloads, all data synthetic. Safe to run again: each run adds to the workspace.
 *   1. experiment tracking: a small sweep of tracked runs, the best found with an MLflow filter
 *   2. data: a training set and a drifted production sample as dataset versions, validated, compared
 *   3. training: a gradient-boosted-trees sweep on the dataset version, evaluation, reproduction
 *   4. registry: register the best model, gated promotion with approval, rollback, alias history
 *   5. serving: serve the champion, traffic, delayed labels, trace a prediction to its data, explain it
 *   6. monitoring: drifted traffic and delayed labels, drift and an accuracy drop, alerts, a retrain request, the report
 *   7. continuous training: a new data version triggers the CT pipeline; a second run is served from the step cache
 *   8. cost: the doubled GPU bill story (examples/story-gpu-bill.ts)
 * It ends by verifying the audit chain that every step wrote to.
 */
import path from 'node:path';
import { openWorkspace } from '../src/app/index.js';
import { modelsLocalApi } from '../src/cli/local/models.js';
import { createLocalApi } from '../src/cli/local-api.js';
import { table } from '../src/cli/output.js';
import { loadConfig } from '../src/core/config.js';
import { dataChapter } from './demo-data.js';
import { makeCreditData, trainLogistic } from './demo-model.js';
import { monitoringChapter } from './demo-monitoring.js';
import { pipelinesChapter } from './demo-pipelines.js';
import { registryChapter } from './demo-registry.js';
import { servingChapter } from './demo-serving.js';
import { trainingChapter } from './demo-training.js';
import { gpuBillStory } from './story-gpu-bill.js';

const REVIEWER = 'demo-reviewer';

const EXPERIMENT = 'demo-credit-risk';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const ws = await openWorkspace(config);
  const api = createLocalApi(ws);
  try {
    console.log(`Sextant tour - workspace ${config.home}\n`);
    console.log('Chapter 1: experiment tracking');
    const experiment = await api.experiments
      .getByName(EXPERIMENT)
      .catch(async () =>
        api.experiments.create({ name: EXPERIMENT, tags: { owner: 'demo', purpose: 'credit risk scoring' } }),
      );
    console.log(`  experiment '${experiment.name}' (id ${experiment.id})`);

    const data = makeCreditData({ rows: 2000, seed: 7 });
    const grid = [0.01, 0.05, 0.2, 1.0].flatMap((lr) => [0, 0.01].map((l2) => ({ lr, l2 })));
    console.log(`  sweep: ${grid.length} runs over learning rate x L2 penalty, 30 epochs each`);
    for (const [i, p] of grid.entries()) {
      const run = await api.runs.create({
        experimentId: experiment.id,
        name: `sweep-${i + 1}-lr${p.lr}-l2${p.l2}`,
        tags: { 'sextant.sweep': 'demo-grid', 'mlflow.source.name': 'examples/tour.ts' },
      });
      await api.runs.logBatch(run.id, {
        params: [
          { key: 'lr', value: String(p.lr) },
          { key: 'l2', value: String(p.l2) },
          { key: 'epochs', value: '30' },
          { key: 'model', value: 'logistic' },
        ],
      });
      const curve = trainLogistic(data, { lr: p.lr, l2: p.l2, epochs: 30 });
      const now = Date.now();
      await api.runs.logBatch(run.id, {
        metrics: curve.flatMap((e, step) => [
          { key: 'train_loss', value: e.trainLoss, timestamp: now, step },
          { key: 'val_accuracy', value: e.valAccuracy, timestamp: now, step },
        ]),
      });
      await api.runs.update(run.id, { status: 'FINISHED', endTime: Date.now() });
      process.stdout.write(
        `  [${i + 1}/${grid.length}] ${run.name}: val_accuracy ${curve.at(-1)?.valAccuracy.toFixed(4)}\n`,
      );
    }

    const { runs } = await api.runs.search({
      experimentIds: [experiment.id],
      filter: "tags.`sextant.sweep` = 'demo-grid' and metrics.val_accuracy > 0",
      orderBy: ['metrics.val_accuracy DESC'],
      maxResults: 3,
    });
    console.log('\n  best runs (runs/search, MLflow filter syntax):');
    console.log(
      table(
        ['RUN', 'NAME', 'LR', 'L2', 'VAL_ACCURACY'],
        runs.map((r) => [
          r.id,
          r.name,
          r.params.lr,
          r.params.l2,
          r.metrics.find((m) => m.key === 'val_accuracy')?.value,
        ]),
      )
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
    const best = runs[0];
    if (best) console.log(`  open it: npx sextant runs show ${best.id}`);

    console.log('\nChapter 2: data versions, quality, training vs production');
    const workDir = path.join(config.home, 'demo-files');
    const { trainRef } = await dataChapter(api, { workDir });

    console.log('');
    const { bestRunId } = await trainingChapter(api, { datasetRef: trainRef, target: 'defaulted', workDir });

    // A second person reviews promotions: the requester may never approve their own request.
    const users = await api.users.list();
    if (!users.some((u) => u.name === REVIEWER)) await api.users.create({ name: REVIEWER, role: 'approver' });
    const { model } = await registryChapter(api, {
      runId: bestRunId,
      reviewer: modelsLocalApi(ws, REVIEWER),
    });
    const served = await servingChapter(ws, { model });
    await monitoringChapter(ws, { deployment: served.deployment, workDir });
    await pipelinesChapter(ws, api, { workDir, runId: bestRunId, home: path.resolve(config.home) });
    await gpuBillStory(ws, api, { workDir });

    const verify = await api.audit.verify();
    console.log(`\nAudit chain: ${verify.ok ? 'OK' : 'BROKEN'} (${verify.entries} entries)`);
    console.log('\nLook around:');
    console.log(`  npx sextant data ls                       # datasets and versions`);
    console.log(`  npx sextant lineage ${model}@champion     # model -> run -> data`);
    console.log(`  npx sextant models history ${model}`);
    console.log(`  npx sextant serve ${model}@champion    # POST /predict, /feedback; GET /metrics`);
    console.log(
      `  npx sextant predictions ls --limit 5       # then: npx sextant trace <id>, npx sextant explain <id>`,
    );
    console.log(
      '  npx sextant server    # then MLFLOW_TRACKING_URI=http://127.0.0.1:5005 for MLflow clients',
    );
  } finally {
    await ws.close();
  }
}

await main();
console.log(
  `\nWeb UI: npx sextant server, then open http://${loadConfig(process.env).host}:${loadConfig(process.env).port}/`,
);
