// biome-ignore-all lint/suspicious/noTemplateCurlyInString: trigger params are written in the ${{ }} syntax on purpose
/*
 * Demo chapter: continuous training. A dataset trigger watches `credit-train`; a new version of it
 * starts examples/pipelines/continuous-training.yaml (validate, train a challenger, score both on one
 * holdout, gates, shadow, compare, promote). Fired again for the same data, the unchanged steps come
 * from the step cache.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Workspace } from '../src/app/index.js';
import { table } from '../src/cli/output.js';
import type { SextantApi } from '../src/client/index.js';
import { writeCreditCsv } from '../src/ml/synthetic.js';
import type { PipelineRunDetail } from '../src/pipelines/index.js';

const MODEL = 'demo-ct-credit';
const TRIGGER = 'demo-new-credit-data';
const REPO = path.resolve(new URL('..', import.meta.url).pathname);

async function settle(ws: Workspace, runId: string): Promise<PipelineRunDetail> {
  for (const until = Date.now() + 600_000; ; ) {
    const r = await ws.pipelines.service.getRun(runId);
    if (r.status !== 'running' || Date.now() > until) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}

const stepsTable = (r: PipelineRunDetail) =>
  table(
    ['STEP', 'STATUS', 'OUTPUTS'],
    r.steps.map((s) => [s.name, s.status, Object.keys(s.outputs ?? {}).join(', ')]),
  )
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

/** Runs the continuous-training chapter on the demo workspace; `runId` is the best trained run. */
export async function pipelinesChapter(
  ws: Workspace,
  api: SextantApi,
  opts: { workDir: string; runId: string; home: string },
): Promise<void> {
  console.log('\nChapter: continuous training - a new data version triggers the CT pipeline');
  const actor = 'local';
  // run: steps call `sextant` against this workspace, as a shell on this machine would.
  const bin = path.join(opts.workDir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'sextant'), `#!/bin/sh\nexec node ${REPO}/bin/sextant.js "$@"\n`, {
    mode: 0o755,
  });
  process.env.PATH = `${bin}:${process.env.PATH}`;
  process.env.SEXTANT_HOME = opts.home;

  // The starting point: the best run as champion of its own model, served by a deployment.
  const r = ws.registry;
  const me = { name: actor, role: 'admin' as const };
  const champion = await r.versions.resolve(`${MODEL}@champion`).catch(() => undefined);
  if (!champion) {
    const v = await r.versions.registerFromRun({ actor: me, model: MODEL, runId: opts.runId });
    await api.models.setPolicy(MODEL, 'protectedAliases: []\napprovals: 0\n');
    await api.models.setAlias(MODEL, 'champion', v.version, 'the demo starting point');
  }
  if (!(await api.serving.deployments.list()).some((d) => d.name === MODEL))
    await api.serving.deployments.create({ name: MODEL, model: `${MODEL}@champion` });
  await api.models.setPolicy(
    MODEL,
    'protectedAliases: [champion]\napprovals: 0\ngates:\n  - metric: "val_roc_auc >= champion.val_roc_auc - 0.2"\n',
  );
  console.log(
    `  ${MODEL}@champion is served by deployment '${MODEL}'; its policy: approvals 0, one metric gate`,
  );

  // The holdout both sides are scored on, once.
  if (!(await api.data.listDatasets()).some((d) => d.name === 'credit-holdout')) {
    const dir = path.join(opts.workDir, 'credit-holdout');
    fs.mkdirSync(dir, { recursive: true });
    writeCreditCsv(path.join(dir, 'credit.csv'), { rows: 800, seed: 99 });
    await ws.data.versions.create({
      actor,
      dataset: 'credit-holdout',
      files: [await putFile(ws, path.join(dir, 'credit.csv'))],
    });
  }

  // The run's workdir is the spec's folder: a copy keeps its reports out of the repository.
  const template = path.join(opts.workDir, 'ct', 'continuous-training.yaml');
  fs.mkdirSync(path.dirname(template), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'examples/pipelines/continuous-training.yaml'), template);
  const existing = (await ws.triggers.list()).find((t) => t.name === TRIGGER);
  const trigger =
    existing ??
    (await ws.triggers.create({
      actor,
      name: TRIGGER,
      pipeline: template,
      on: { dataset: 'credit-train' },
      params: {
        dataset: '${{ event.ref }}',
        holdout: 'credit-holdout@latest',
        online: 'credit-holdout@latest',
        model: MODEL,
        deployment: MODEL,
        trainer: 'linear',
        suite: path.join(REPO, 'examples/pipelines/credit-suite.yaml'),
      },
    }));
  console.log(`  trigger '${trigger.name}': on a new version of credit-train, run the CT template`);

  const worker = ws.jobs.work({ queues: ['default'], concurrency: 2 });
  try {
    const dir = path.join(opts.workDir, `credit-train-${Date.now()}`);
    fs.mkdirSync(dir, { recursive: true });
    writeCreditCsv(path.join(dir, 'credit.csv'), { rows: 1500, seed: Date.now() % 100_000 });
    const { version } = await ws.data.versions.create({
      actor,
      dataset: 'credit-train',
      files: [await putFile(ws, path.join(dir, 'credit.csv'))],
      description: 'a new month of applications',
    });
    console.log(`  new data: credit-train@${version.number}; the trigger's tick fires`);
    await ws.triggers.tick();
    const firing = (await ws.triggers.get(TRIGGER)).firings.find((f) => f.key === `dataset:${version.id}`);
    if (!firing?.runId) {
      console.log(`  the firing did not start a run: ${firing?.status} ${firing?.error ?? ''}`);
      return;
    }
    const run = await settle(ws, firing.runId);
    console.log(`  run ${run.id}: ${run.status}${run.failedStep ? ` at ${run.failedStep}` : ''}`);
    console.log(stepsTable(run));
    const now = await r.versions.resolve(`${MODEL}@champion`);
    console.log(`  ${MODEL}@champion is now v${now.version}; the deployment shadowed the challenger first`);

    const again = await ws.triggers.fire({
      actor,
      ref: TRIGGER,
      event: { ref: `credit-train@${version.number}` },
    });
    if (again.firing.runId) {
      const second = await settle(ws, again.firing.runId);
      const cached = second.steps.filter((s) => s.status === 'cached').map((s) => s.name);
      console.log(
        `  fired again for the same data: ${cached.length} step(s) from the cache (${cached.join(', ')})`,
      );
    }
  } finally {
    await worker.close();
  }
}

async function putFile(ws: Workspace, file: string) {
  const blob = await ws.data.versions.putLocalFile({ localPath: file });
  return { path: path.basename(file), size: blob.size, sha256: blob.sha256 };
}
