import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { loadConfig } from '../../src/core/config.js';
import { sha256Hex } from '../../src/core/hashing.js';
import { writeCreditCsv } from '../../src/ml/index.js';
import { buildApp } from '../../src/server/app.js';
import { runSchema } from '../../src/tracking/index.js';
import { type CliResult, cli } from '../support/cli.js';

/*
 * The training story through the CLI, as a user types it: data add -> train -> evaluate -> reproduce
 * byte-identical, sweeps with early stopping, and every bad input refused before a run exists.
 * Local workspace throughout; train + evaluate also against a server (remote transport).
 */

const json = <T>(r: CliResult): T => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as T;
};

interface TrainJson {
  runId: string;
  metrics: Record<string, number>;
  modelSha256: string;
}

describe('sextant train / evaluate / sweep / models reproduce', () => {
  let home: string;
  let serverHome: string;
  let dataDir: string;
  let local: Record<string, string>;
  let remote: Record<string, string>;
  let ws: Workspace;
  let app: FastifyInstance;
  const extraWorkspaces: Workspace[] = [];

  /** Writes one CSV into its own folder and adds it as a version of `dataset`. */
  async function addCsv(
    env: Record<string, string>,
    dataset: string,
    name: string,
    csv: string,
  ): Promise<void> {
    const dir = path.join(dataDir, `${dataset}-${name}-${Math.random().toString(36).slice(2)}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, `${name}.csv`), csv);
    const added = await cli(env, 'data', 'add', dir, '-d', dataset);
    if (added.code !== 0) throw new Error(`data add ${dataset}: ${added.err}`);
  }

  async function addCredit(
    env: Record<string, string>,
    dataset: string,
    opts: Parameters<typeof writeCreditCsv>[1],
  ) {
    const dir = fs.mkdtempSync(path.join(dataDir, `${dataset}-`));
    writeCreditCsv(path.join(dir, 'credit.csv'), opts);
    const added = await cli(env, 'data', 'add', dir, '-d', dataset);
    if (added.code !== 0) throw new Error(`data add ${dataset}: ${added.err}`);
  }

  /** The same workspace in-process, for steps the CLI has no command for here. */
  async function localApi() {
    const opened = await openWorkspace(loadConfig(local));
    extraWorkspaces.push(opened);
    return createLocalApi(opened);
  }

  async function runCount(env: Record<string, string>): Promise<number> {
    return json<{ runs: unknown[] }>(await cli(env, '--json', 'runs', 'ls', '--all', '--max', '1000')).runs
      .length;
  }

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-ml-'));
    serverHome = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-ml-server-'));
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-ml-data-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: serverHome }));
    app = await buildApp(ws);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    local = { SEXTANT_HOME: home };
    remote = { SEXTANT_HOME: home, SEXTANT_URL: url };
    await addCredit(local, 'credit', { rows: 2000, seed: 1 });
    // Version 2: the same applicants, a different risk model (concept drift).
    await addCredit(local, 'credit', { rows: 2000, seed: 1, conceptDrift: 1 });
    await addCredit(remote, 'credit', { rows: 2000, seed: 1 });
  }, 120_000);

  afterAll(async () => {
    await app.close();
    await ws.close();
    for (const w of extraWorkspaces) await w.close();
    for (const d of [home, serverHome, dataDir]) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] train records a run: params, metrics, ONNX + signature + report, dataset input`, async () => {
      const env = transport === 'local' ? local : remote;
      const trained = json<TrainJson>(
        await cli(
          env,
          '--json',
          'train',
          '-d',
          'credit@1',
          '--target',
          'defaulted',
          '-m',
          'linear',
          '--seed',
          '5',
        ),
      );
      expect(trained.metrics.val_roc_auc).toBeGreaterThan(0.65);
      expect(trained.modelSha256).toMatch(/^[0-9a-f]{64}$/);

      const shown = JSON.parse((await cli(env, '--json', 'runs', 'show', trained.runId)).out);
      const run = runSchema.passthrough().parse(shown);
      expect(run.status).toBe('FINISHED');
      expect(run.params).toMatchObject({
        model: 'linear',
        target: 'defaulted',
        seed: '5',
        split_seed: '5',
        val_fraction: '0.2',
      });
      expect(run.params.l2).toBe('1');
      expect(run.tags).toMatchObject({
        'sextant.trainer': 'linear',
        'sextant.seed': '5',
        'sextant.model_sha256': trained.modelSha256,
      });
      const input = run.inputs.find((i) => i.direction === 'input')!;
      expect(input.name).toBe('credit');
      expect(input.datasetVersionId).toBeTruthy();
      const paths = (shown.artifacts as { path: string; isDir: boolean }[]).map((a) => a.path);
      expect(paths).toEqual(expect.arrayContaining(['model', 'evaluation']));
      expect(run.metrics.find((m) => m.key === 'onnx_max_abs_diff')!.value).toBeLessThanOrEqual(1e-5);
      expect(run.metrics.find((m) => m.key === 'validation_rows')!.value).toBe(400);

      const evaluated = json<{
        model: { sha256: string; signature: boolean };
        metrics: Record<string, number>;
        rows: number;
      }>(await cli(env, '--json', 'evaluate', '--run', trained.runId, '-d', 'credit@1'));
      expect(evaluated.model).toMatchObject({ sha256: trained.modelSha256, signature: true });
      expect(evaluated.rows).toBe(2000);
      expect(evaluated.metrics.roc_auc).toBeGreaterThan(0.65);
    });
  }

  it('evaluate prints metrics per slice, and a concept-drifted version scores worse', async () => {
    const trained = json<TrainJson>(
      await cli(local, '--json', 'train', '-d', 'credit@1', '--target', 'defaulted', '-m', 'linear'),
    );
    const table = await cli(local, 'evaluate', '--run', trained.runId, '-d', 'credit@1', '--slice', 'sex');
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/roc_auc/);
    expect(table.out).toMatch(/^SEX\s+COUNT\s+ACCURACY/m);
    expect(table.out).toMatch(/^female\s+\d+/m);
    expect(table.out).toMatch(/PREDICTED 0/);

    type Eval = { metrics: Record<string, number>; slices: { values: { slice: string; count: number }[] } };
    const same = json<Eval>(
      await cli(local, '--json', 'evaluate', '--run', trained.runId, '-d', 'credit@1', '--slice', 'sex'),
    );
    expect(same.slices.values.map((s) => s.slice)).toEqual(['female', 'male']);
    expect(same.slices.values.reduce((n, s) => n + s.count, 0)).toBe(2000);
    const drifted = json<Eval>(
      await cli(local, '--json', 'evaluate', '--run', trained.runId, '-d', 'credit@2'),
    );
    expect(same.metrics.roc_auc! - drifted.metrics.roc_auc!).toBeGreaterThan(0.04);
  });

  it('evaluates an ONNX file uploaded from elsewhere once its target column is named', async () => {
    const trained = json<TrainJson>(
      await cli(
        local,
        '--json',
        'train',
        '-d',
        'credit@1',
        '--target',
        'defaulted',
        '-m',
        'linear',
        '--seed',
        '2',
      ),
    );
    // "Elsewhere": a run that only holds an .onnx file, no signature.json.
    const api = await localApi();
    const bytes: Buffer[] = [];
    for await (const c of await api.runs.downloadArtifact(trained.runId, 'model/model.onnx'))
      bytes.push(c as Buffer);
    const foreign = await api.runs.create({ name: 'exported-elsewhere' });
    await api.runs.uploadArtifact(foreign.id, 'exported/risk.onnx', Buffer.concat(bytes));

    const noTarget = await cli(local, 'evaluate', '--run', foreign.id, '-d', 'credit@1');
    expect(noTarget.code).toBe(2);
    expect(noTarget.err).toMatch(/--target/);
    const scored = json<{
      model: { sha256: string; signature: boolean; artifact: string };
      metrics: Record<string, number>;
    }>(
      await cli(local, '--json', 'evaluate', '--run', foreign.id, '-d', 'credit@1', '--target', 'defaulted'),
    );
    expect(scored.model).toMatchObject({ signature: false, artifact: 'exported/risk.onnx' });
    expect(scored.model.sha256).toBe(sha256Hex(Buffer.concat(bytes)));
    const ours = json<{ metrics: Record<string, number> }>(
      await cli(local, '--json', 'evaluate', '--run', trained.runId, '-d', 'credit@1'),
    );
    expect(scored.metrics.roc_auc).toBeCloseTo(ours.metrics.roc_auc!, 12);
  });

  it('models reproduce --run retrains byte-identically from the recorded params, seed and dataset digest', async () => {
    const trained = json<TrainJson>(
      await cli(
        local,
        '--json',
        'train',
        '-d',
        'credit@1',
        '--target',
        'defaulted',
        '-m',
        'gbdt',
        '--seed',
        '9',
        '-p',
        'n_estimators=15',
        '-p',
        'subsample=0.8',
      ),
    );
    const again = json<{
      byteIdentical: boolean;
      newSha256: string;
      newRunId: string;
      metrics: { withinTolerance: boolean }[];
    }>(await cli(local, '--json', 'models', 'reproduce', '--run', trained.runId));
    expect(again.byteIdentical).toBe(true);
    expect(again.newSha256).toBe(trained.modelSha256);
    expect(again.metrics.length).toBeGreaterThan(5);
    expect(again.metrics.every((m) => m.withinTolerance)).toBe(true);
    const newRun = runSchema
      .passthrough()
      .parse(JSON.parse((await cli(local, '--json', 'runs', 'show', again.newRunId)).out));
    expect(newRun.tags['sextant.reproduces']).toBe(trained.runId);
    const text = await cli(local, 'models', 'reproduce', '--run', trained.runId);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/byte-identical \(sha256 equal\)/);
  });

  it('a registered version is evaluated and reproduced byte-identically by <model>@<version>', async () => {
    const trained = json<TrainJson>(
      await cli(
        local,
        '--json',
        'train',
        '-d',
        'credit@1',
        '--target',
        'defaulted',
        '-m',
        'gbdt',
        '--seed',
        '3',
        '-p',
        'n_estimators=10',
      ),
    );
    const api = await localApi();
    const version = await api.models.register('credit-risk', { runId: trained.runId });
    expect(version.sha256).toBe(trained.modelSha256);
    const ref = `credit-risk@${version.version}`;

    const evaluated = json<{
      model: { sha256: string; signature: boolean; ref: string };
      metrics: Record<string, number>;
    }>(await cli(local, '--json', 'evaluate', ref, '-d', 'credit@1'));
    expect(evaluated.model).toMatchObject({ sha256: trained.modelSha256, signature: true, ref });
    expect(evaluated.metrics.roc_auc).toBeGreaterThan(0.65);

    const again = json<{
      byteIdentical: boolean;
      originalSha256: string;
      originalRunId: string;
      reproduced: boolean;
    }>(await cli(local, '--json', 'models', 'reproduce', ref));
    expect(again).toMatchObject({ byteIdentical: true, reproduced: true, originalRunId: trained.runId });
    expect(again.originalSha256).toBe(version.sha256);
    const missing = await cli(local, 'models', 'reproduce', 'credit-risk@99');
    expect(missing.code).toBe(3);

    // A file registered without a run (made elsewhere): scored from the registry's bytes, target named.
    const bytes: Buffer[] = [];
    for await (const c of await api.models.download(ref)) bytes.push(c as Buffer);
    const foreign = await api.models.registerFile('foreign-risk', {
      filename: 'risk.onnx',
      content: Buffer.concat(bytes),
    });
    const foreignRef = `foreign-risk@${foreign.version}`;
    const noTarget = await cli(local, 'evaluate', foreignRef, '-d', 'credit@1');
    expect(noTarget.code).toBe(2);
    expect(noTarget.err).toMatch(/--target/);
    const scored = json<{ model: { runId: string | null; sha256: string }; metrics: Record<string, number> }>(
      await cli(local, '--json', 'evaluate', foreignRef, '-d', 'credit@1', '--target', 'defaulted'),
    );
    expect(scored.model).toEqual(expect.objectContaining({ runId: null, sha256: trained.modelSha256 }));
    expect(scored.metrics.roc_auc).toBeCloseTo(evaluated.metrics.roc_auc!, 12);
    const notRetrainable = await cli(local, 'models', 'reproduce', foreignRef);
    expect(notRetrainable.code).toBe(2);
    expect(notRetrainable.err).toMatch(/registered without a run/);
  });

  it('models reproduce re-runs a user command and compares its metrics within the tolerance', async () => {
    const script = (value: string) =>
      [
        "const r = await fetch(process.env.MLFLOW_TRACKING_URI + '/api/2.0/mlflow/runs/log-metric', { method: 'POST',",
        "  headers: { 'content-type': 'application/json' },",
        `  body: JSON.stringify({ run_id: process.env.MLFLOW_RUN_ID, key: 'acc', value: ${value}, timestamp: Date.now() }) });`,
        'if (!r.ok) process.exit(4);',
      ].join('\n');
    const steady = await cli(
      local,
      '--json',
      'run',
      '--',
      process.execPath,
      '--input-type=module',
      '-e',
      script('0.9'),
    );
    const steadyId = (JSON.parse(steady.out.trim().split('\n').at(-1)!) as { runId: string }).runId;
    const ok = json<{ kind: string; reproduced: boolean; metrics: { key: string; delta: number }[] }>(
      await cli(local, '--json', 'models', 'reproduce', '--run', steadyId),
    );
    expect(ok.kind).toBe('command');
    expect(ok.reproduced).toBe(true);
    expect(ok.metrics.find((m) => m.key === 'acc')!.delta).toBe(0);

    const noisy = await cli(
      local,
      '--json',
      'run',
      '--',
      process.execPath,
      '--input-type=module',
      '-e',
      script('Math.random()'),
    );
    const noisyId = (JSON.parse(noisy.out.trim().split('\n').at(-1)!) as { runId: string }).runId;
    const differs = await cli(
      local,
      '--json',
      'models',
      'reproduce',
      '--run',
      noisyId,
      '--tolerance',
      '1e-12',
    );
    expect(differs.code).toBe(1);
    const body = JSON.parse(differs.out) as {
      reproduced: boolean;
      metrics: { key: string; withinTolerance: boolean }[];
    };
    expect(body.reproduced).toBe(false);
    expect(body.metrics.find((m) => m.key === 'acc')!.withinTolerance).toBe(false);
  });

  it('a sweep groups trials under a parent, reports the best, and stops a deliberately bad trial early', async () => {
    const res = await cli(
      local,
      '--json',
      'sweep',
      '-d',
      'credit@1',
      '--target',
      'defaulted',
      '-m',
      'gbdt',
      '--grid',
      'learning_rate=0.3,0.25,0.2,0.00001',
      '-p',
      'n_estimators=40',
      '-p',
      'max_depth=3',
      '--early-stop',
      'median',
      '--warmup',
      '5',
      '-e',
      'sweeps',
    );
    const sweep = json<{
      parentRunId: string;
      best: { runId: string; trial: number };
      trials: {
        trial: number;
        runId: string;
        iterations: number;
        earlyStopped: boolean;
        objective: number;
      }[];
    }>(res);
    expect(sweep.trials).toHaveLength(4);
    const bad = sweep.trials[3]!;
    expect(bad.earlyStopped).toBe(true);
    expect(bad.iterations).toBeLessThan(40);
    expect(sweep.trials[0]!.iterations).toBe(40);
    expect(sweep.best.trial).not.toBe(4);

    const badRun = runSchema
      .passthrough()
      .parse(JSON.parse((await cli(local, '--json', 'runs', 'show', bad.runId)).out));
    expect(badRun.tags).toMatchObject({
      'mlflow.parentRunId': sweep.parentRunId,
      'sextant.sweep': sweep.parentRunId,
      'sextant.early_stopped': 'true',
    });
    expect(badRun.status).toBe('FINISHED');
    const parent = runSchema
      .passthrough()
      .parse(JSON.parse((await cli(local, '--json', 'runs', 'show', sweep.parentRunId)).out));
    expect(parent.tags['sextant.best_run_id']).toBe(sweep.best.runId);
    expect(parent.metrics.find((m) => m.key === 'trials_early_stopped')!.value).toBeGreaterThanOrEqual(1);
    const children = await cli(
      local,
      'runs',
      'ls',
      '-e',
      'sweeps',
      '--filter',
      `tags.\`mlflow.parentRunId\` = '${sweep.parentRunId}'`,
    );
    expect(children.out.trim().split('\n')).toHaveLength(2 + 4);

    // The stopped trial trained fewer trees than its params asked for; reproduce retrains that many.
    const again = json<{ byteIdentical: boolean }>(
      await cli(local, '--json', 'models', 'reproduce', '--run', bad.runId),
    );
    expect(again.byteIdentical).toBe(true);
  }, 120_000);

  it('random sweeps run trials in parallel worker threads and are seeded', async () => {
    const args = [
      '--json',
      'sweep',
      '-d',
      'credit@1',
      '--target',
      'defaulted',
      '-m',
      'linear',
      '--random',
      '3',
      '--param-range',
      'l2=0.01:100:log',
      '--parallel',
      '2',
      '--seed',
      '4',
    ];
    type Sweep = { trials: { params: Record<string, string>; status: string }[] };
    const a = json<Sweep>(await cli(local, ...args));
    const b = json<Sweep>(await cli(local, ...args));
    expect(a.trials.map((t) => t.status)).toEqual(['FINISHED', 'FINISHED', 'FINISHED']);
    expect(b.trials.map((t) => t.params)).toEqual(a.trials.map((t) => t.params));
  }, 120_000);

  it('refuses bad input with one clear line and creates no run', async () => {
    await addCsv(local, 'flat', 'flat', 'x,y\n1,0\n2,0\n3,0\n4,0\n5,0\n');
    await addCsv(local, 'words', 'words', 'x,y\n1,low\n2,high\n3,low\n4,high\n5,low\n');
    await addCsv(local, 'infs', 'infs', 'x,y\n1,0\ninf,1\n3,0\n4,1\n5,0\n6,1\n');
    const before = await runCount(local);
    const cases: [string[], RegExp, number][] = [
      [['-d', 'credit@1', '--target', 'nope', '-m', 'linear'], /column 'nope' does not exist/, 2],
      [
        ['-d', 'credit@1', '--target', 'defaulted', '-m', 'forest'],
        /--model: must be one of linear, gbdt/,
        2,
      ],
      [
        ['-d', 'credit@1', '--target', 'defaulted', '-m', 'gbdt', '-p', 'depth=3'],
        /unknown param 'depth'/,
        2,
      ],
      [
        ['-d', 'credit@1', '--target', 'defaulted', '-m', 'gbdt', '-p', 'learning_rate=-1'],
        /learning_rate/,
        2,
      ],
      [
        ['-d', 'credit@1', '--target', 'defaulted', '-m', 'linear', '--val-fraction', '1.5'],
        /--val-fraction/,
        2,
      ],
      [
        ['-d', 'credit@1', '--target', 'defaulted', '-m', 'linear', '--features', 'age,shoe_size'],
        /shoe_size/,
        2,
      ],
      [['-d', 'credit@99', '--target', 'defaulted', '-m', 'linear'], /99/, 3],
      [['-d', 'flat@1', '--target', 'y', '-m', 'linear'], /single class/, 2],
      [['-d', 'infs@1', '--target', 'y', '-m', 'gbdt'], /NaN and infinities are not data/, 2],
      [
        ['-d', 'words@1', '--target', 'y', '-m', 'linear', '--task', 'regression'],
        /must be numeric for regression/,
        2,
      ],
    ];
    for (const [args, message, code] of cases) {
      const res = await cli(local, 'train', ...args);
      expect({ args, code: res.code }).toEqual({ args, code });
      expect(res.err.trim().split('\n')).toHaveLength(1);
      expect(res.err).toMatch(message);
    }
    expect(await runCount(local)).toBe(before);
  }, 60_000);
});
