// biome-ignore-all lint/suspicious/noTemplateCurlyInString: trigger params are written in the ${{ }} syntax on purpose
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import type { WorkerHandle } from '../../src/jobs/index.js';
import { writeCreditCsv } from '../../src/ml/index.js';
import type { PipelineRunDetail } from '../../src/pipelines/index.js';
import { cli } from '../support/cli.js';

/*
 * The continuous-training template end to end on a local workspace (SQLite, in-process queue): a new
 * version of the training data fires a dataset trigger, the pipeline validates it, trains and registers
 * a challenger, scores both sides on one holdout, passes the gates (`sextant ci` in a run: step),
 * shadows the challenger on the deployment, compares, and promotes it (the policy has approvals: 0).
 * Fired again for the same data, the unchanged steps are cache hits.
 */

const REPO = path.resolve(new URL('../..', import.meta.url).pathname);

describe('continuous training: a new data version triggers the CT template, end to end', () => {
  let dir: string;
  let env: Record<string, string>;
  let ws: Workspace;
  let worker: WorkerHandle;
  let template: string;
  const saved = { home: process.env.SEXTANT_HOME, path: process.env.PATH };

  const ok = async (...argv: string[]) => {
    const r = await cli(env, ...argv);
    if (r.code !== 0) throw new Error(`sextant ${argv.join(' ')}: ${r.err}`);
    return r.out;
  };
  const addCredit = async (dataset: string, opts: Parameters<typeof writeCreditCsv>[1]) => {
    const d = fs.mkdtempSync(path.join(dir, `${dataset}-`));
    writeCreditCsv(path.join(d, 'credit.csv'), opts);
    await ok('data', 'add', d, '-d', dataset);
  };
  const policy = async (yaml: string) => {
    const f = path.join(dir, 'policy.yaml');
    fs.writeFileSync(f, yaml);
    await ok('models', 'policy', 'set', 'credit-risk', f);
  };
  async function settle(runId: string): Promise<PipelineRunDetail> {
    for (const until = Date.now() + 240_000; ; ) {
      const r = await ws.pipelines.service.getRun(runId);
      if (r.status !== 'running') return r;
      if (Date.now() > until) throw new Error(`run ${runId} still running`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  const steps = (r: PipelineRunDetail) => Object.fromEntries(r.steps.map((s) => [s.name, s.status]));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-ct-'));
    const home = path.join(dir, 'home');
    env = { SEXTANT_HOME: home };
    // run: steps call `sextant` on PATH against this workspace, as a user's shell would.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'sextant'), `#!/bin/sh\nexec node ${REPO}/bin/sextant.js "$@"\n`, {
      mode: 0o755,
    });
    process.env.SEXTANT_HOME = home;
    process.env.PATH = `${bin}:${saved.path}`;
    // The run's workdir is the spec's folder: a copy keeps ci.md out of the repository.
    template = path.join(dir, 'ct', 'continuous-training.yaml');
    fs.mkdirSync(path.dirname(template));
    fs.copyFileSync(path.join(REPO, 'examples/pipelines/continuous-training.yaml'), template);

    await addCredit('credit-train', { rows: 1200, seed: 1 });
    await addCredit('credit-holdout', { rows: 600, seed: 9 });
    const first = JSON.parse(
      await ok(
        '--json',
        'train',
        '-d',
        'credit-train@1',
        '--target',
        'defaulted',
        '-m',
        'linear',
        '--seed',
        '3',
      ),
    ) as { runId: string };
    await ok('models', 'register', 'credit-risk', '--run', first.runId);
    await policy('protectedAliases: []\napprovals: 0\n');
    await ok('models', 'set-alias', 'credit-risk@1', 'champion');
    await ok('deployments', 'create', 'credit', '--model', 'credit-risk@champion');
    // From now on champion moves only through a gated request, executed at once (no approvals).
    await policy(
      'protectedAliases: [champion]\napprovals: 0\ngates:\n  - metric: "val_roc_auc >= champion.val_roc_auc - 0.3"\n',
    );

    ws = await openWorkspace(loadConfig(env));
    worker = ws.jobs.work({ queues: ['default'], concurrency: 2, leaseMs: 30_000 });
  }, 240_000);

  afterAll(async () => {
    await worker?.close();
    await ws?.close();
    process.env.SEXTANT_HOME = saved.home;
    process.env.PATH = saved.path;
    if (saved.home === undefined) delete process.env.SEXTANT_HOME;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('new data -> trigger -> validate, train, evaluate, gates, shadow, compare, promote; again -> cache hits', async () => {
    const params = {
      dataset: '${{ event.ref }}',
      holdout: 'credit-holdout@1',
      online: 'credit-holdout@1',
      trainer: 'linear',
      suite: path.join(REPO, 'examples/pipelines/credit-suite.yaml'),
    };
    const trigger = await ws.triggers.create({
      actor: 'local',
      name: 'new-credit-data',
      pipeline: template,
      on: { dataset: 'credit-train' },
      params,
    });
    await addCredit('credit-train', { rows: 1500, seed: 2 });
    const tick = await ws.triggers.tick();
    expect(tick.dataset).toBe(1);
    const [firing] = (await ws.triggers.get(trigger.name)).firings;
    expect(firing).toMatchObject({ status: 'started', key: expect.stringMatching(/^dataset:dsv_/) });
    expect(firing?.params.dataset).toBe('credit-train@2');

    const run = await settle(firing!.runId!);
    expect(run.error, JSON.stringify(run.steps.filter((s) => s.status === 'failed'))).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(steps(run)).toEqual({
      validate: 'succeeded',
      train: 'succeeded',
      register: 'succeeded',
      'evaluate-challenger': 'succeeded',
      'evaluate-champion': 'succeeded',
      gates: 'succeeded',
      challenger: 'succeeded',
      shadow: 'succeeded',
      compare: 'succeeded',
      promote: 'succeeded',
    });
    expect(run.steps.find((s) => s.name === 'promote')?.outputs).toMatchObject({ status: 'executed' });
    const champion = JSON.parse(await ok('--json', 'models', 'show', 'credit-risk@champion')) as {
      version: number;
    };
    expect(champion.version).toBe(2);
    const dep = await ok('deployments', 'show', 'credit');
    expect(dep).toContain('shadow');

    // Fired again for the same data: the steps whose inputs did not change come from the cache.
    const again = await ws.triggers.fire({
      actor: 'local',
      ref: trigger.name,
      event: { ref: 'credit-train@2' },
    });
    const second = await settle(again.firing.runId!);
    expect(steps(second).validate).toBe('cached');
    expect(steps(second).train).toBe('cached');
  }, 300_000);
});
