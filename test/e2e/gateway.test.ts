import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openWorkspace } from '../../src/app/index.js';
import { referenceScoresOf } from '../../src/app/monitoring-reference-scores.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { loadConfig } from '../../src/core/config.js';
import { explanationSchema } from '../../src/governance/explain/explanation.schema.js';
import { predictionTraceSchema } from '../../src/governance/trace/index.js';
import { endpointSpecSchema, type ModelVersion } from '../../src/registry/index.js';
import { buildApp } from '../../src/server/app.js';
import { predictionSchema } from '../../src/serving/index.js';
import { type CliResult, cli } from '../support/cli.js';
import { type ModelServer, startNodeModelServer } from '../support/model-servers.js';
import { uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';
import { type ServeProcess, startServe, workspaceEnv } from './serving-serve-harness.js';

/*
 * The gateway as a user runs it: an external model server (a real Node server started here) is
 * registered with `sextant models register-endpoint`, served by `sextant serve`, and gets what an
 * ONNX model gets: the prediction log, feedback, trace, KernelSHAP explanations, shadow beside an
 * ONNX champion. When the upstream is down, slow or answers garbage the caller gets a clear upstream
 * error (502/504), the breaker opens and recovers, and the serving process stays up.
 */

const json = <T>(r: CliResult): T => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as T;
};

const predictReply = z.object({
  predictions: z.array(
    z.object({
      prediction_id: z.string(),
      version: z.number(),
      prediction: z.unknown(),
      probabilities: z.record(z.string(), z.number()),
    }),
  ),
});

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('sextant models register-endpoint + sextant serve: the gateway', () => {
  let home: string;
  let env: Record<string, string>;
  let upstream: ModelServer;
  let serve: ServeProcess | undefined;
  const model = uniq('gw');

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-gateway-'));
    env = { SEXTANT_HOME: home };
    upstream = await startNodeModelServer();
    // Training / reference data with the model's features and its target: the explanation background.
    const rows = ['f0,f1,f2,y'];
    for (let i = 0; i < 40; i++) rows.push(`${(i % 7) - 3},${(i % 5) - 2},${(i % 3) - 1},${i % 2}`);
    fs.writeFileSync(path.join(home, 'gw.csv'), `${rows.join('\n')}\n`);
    expect((await cli(env, 'data', 'add', path.join(home, 'gw.csv'), '-d', `${model}-data`)).code).toBe(0);
    fs.writeFileSync(path.join(home, 'tiny.onnx'), tinyOnnxModel());
    const onnx = await cli(env, 'models', 'register', model, '--file', path.join(home, 'tiny.onnx'));
    expect(onnx.code, onnx.err).toBe(0);
  }, 120_000);
  afterAll(async () => {
    serve?.child.kill('SIGKILL');
    await upstream?.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('registers the external server as a version: endpoint, protocol and identity recorded; bad input exits 2, an unreachable server 8', async () => {
    const args = [
      '--protocol',
      'oip',
      '--upstream-model',
      'tiny',
      '--features',
      'f0,f1,f2',
      '--classes',
      '0,1',
    ];
    const v = json<ModelVersion>(
      await cli(
        env,
        '--json',
        'models',
        'register-endpoint',
        model,
        '--endpoint',
        upstream.url,
        ...args,
        '--target',
        'y',
        '--dataset',
        `${model}-data@1`,
        '--timeout-ms',
        '500',
        '--retries',
        '1',
        '--breaker-failures',
        '2',
        '--breaker-reset-ms',
        '300',
      ),
    );
    expect(v).toMatchObject({
      version: 2,
      format: 'endpoint',
      source: upstream.url,
      files: [{ path: 'endpoint.json' }],
    });
    expect(v.datasetVersionIds).toHaveLength(1);
    const ws = await openWorkspace(loadConfig(env));
    try {
      const { stream } = await ws.registry.versions.download(`${model}@2`);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      const spec = endpointSpecSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      expect(spec).toMatchObject({
        protocol: 'oip',
        identity: { source: 'metadata' },
        resilience: { timeoutMs: 500 },
      });
    } finally {
      await ws.close();
    }

    const bad = await cli(
      env,
      'models',
      'register-endpoint',
      model,
      '--endpoint',
      upstream.url,
      '--protocol',
      'grpc',
      '--features',
      'f0',
    );
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--protocol/);
    const down = await cli(
      env,
      'models',
      'register-endpoint',
      model,
      '--endpoint',
      'http://127.0.0.1:9',
      ...args,
      '--retries',
      '0',
    );
    expect(down.code, down.err).toBe(8);
    expect(down.err).toMatch(/cannot be reached/);
  });

  it('sextant serve fronts it: predictions logged, feedback, trace and a KernelSHAP explanation over the endpoint', async () => {
    serve = await startServe(workspaceEnv(home), ['serve', `${model}@2`, '--port', '0']);
    expect(serve.version).toBe(2);
    const res = await post(`${serve.baseUrl}/invocations`, {
      dataframe_split: {
        columns: ['f0', 'f1', 'f2'],
        data: [
          [1, 2, 3],
          [-3, 1, -1],
        ],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const preds = predictReply.parse(res.body).predictions;
    expect(preds.map((p) => p.prediction)).toEqual([1, 0]);
    const id = preds[0]!.prediction_id;
    const logged = predictionSchema.parse(json(await cli(env, '--json', 'predictions', 'show', id)));
    expect(logged).toMatchObject({
      model,
      version: 2,
      inputs: { f0: 1, f1: 2, f2: 3 },
      outputs: { prediction: 1 },
    });
    const fed = await cli(env, 'feedback', id, '1');
    expect(fed.code, fed.err).toBe(0);
    const trace = predictionTraceSchema.parse(json(await cli(env, '--json', 'trace', id)));
    expect(trace.modelVersion).toMatchObject({ version: 2, format: 'endpoint' });
    const explained = z
      .object({ explanation: explanationSchema })
      .parse(json(await cli(env, 'explain', id, '--json'))).explanation;
    expect(explained.method).toBe('kernel');
    expect(Object.keys(explained.attributions).sort()).toEqual(['f0', 'f1', 'f2']);
    const sum = Object.values(explained.attributions).reduce((a, b) => a + b, explained.baseValue);
    expect(sum).toBeCloseTo(explained.output, 6);
  }, 120_000);

  it('down, slow, garbage: 502 / 504 upstream errors in our shape, the breaker opens then recovers, and serve stays up', async () => {
    const predict = (records: unknown) => post(`${serve!.baseUrl}/predict`, records);
    const one = [{ f0: 1, f1: 2, f2: 3 }];
    await upstream.control({ mode: 'slow' });
    const slow = await predict(one);
    expect(slow.status).toBe(504);
    expect(slow.body).toMatchObject({ error: { code: 'UPSTREAM_TIMEOUT' } });
    await upstream.control({ mode: 'garbage' });
    const garbage = await predict(one);
    expect(garbage.status).toBe(502);
    expect(garbage.body).toMatchObject({ error: { code: 'UPSTREAM_ERROR' } });
    // MLflow's path answers in MLflow's error shape, with the same status.
    const mlflowShape = await post(`${serve!.baseUrl}/invocations`, { dataframe_records: one });
    expect(mlflowShape.status).toBe(502);
    expect(mlflowShape.body).toMatchObject({ error_code: 'TEMPORARILY_UNAVAILABLE' });
    await upstream.control({ mode: 'ok' });
    // A slow answer from before may still be in flight on the upstream; wait until it is fine again.
    await new Promise((r) => setTimeout(r, 400));

    await upstream.stop();
    const refused = await predict(one);
    expect(refused.status).toBe(502);
    expect(JSON.stringify(refused.body)).toMatch(/cannot be reached \(ECONNREFUSED/);
    await predict(one);
    const open = await predict(one);
    expect(open.status).toBe(502);
    expect(open.body).toMatchObject({ error: { code: 'UPSTREAM_ERROR', details: { circuit: 'open' } } });
    await upstream.restart();
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await predict(one)).status;
    }
    expect(status).toBe(200);
    expect(serve!.child.exitCode).toBeNull();
    serve!.child.kill('SIGTERM');
    await serve!.exited;
    serve = undefined;
    // The failed requests are counted by code in the deployment's request counts...
    const ws = await openWorkspace(loadConfig(env));
    try {
      const stats = await ws.serving.deployments.stats(`${model}-v2`);
      expect(stats.errorsByCode).toMatchObject({ UPSTREAM_TIMEOUT: 1 });
      expect(stats.errorsByCode.UPSTREAM_ERROR).toBeGreaterThanOrEqual(5);
    } finally {
      await ws.close();
    }
    // ...and logged as failed predictions: their records, the error code and message, no output.
    const dep = `${model}-v2`;
    const failedPage = z
      .object({ predictions: z.array(predictionSchema) })
      .parse(json(await cli(env, '--json', 'predictions', 'ls', '--deployment', dep, '--status', 'failed')));
    const failed = failedPage.predictions;
    expect(failed.length).toBeGreaterThanOrEqual(6);
    for (const p of failed) {
      expect(p).toMatchObject({ status: 'failed', outputs: null, inputs: { f0: 1, f1: 2, f2: 3 } });
      expect(p.error?.code).toMatch(/^UPSTREAM_(ERROR|TIMEOUT)$/);
    }
    const timedOut = failed.find((p) => p.error?.code === 'UPSTREAM_TIMEOUT')!;
    expect(timedOut.error?.message).toMatch(/did not answer within 500 ms/);
    expect(failed.some((p) => /cannot be reached/.test(p.error?.message ?? ''))).toBe(true);
    const all = json<{ predictions: { status: string }[] }>(
      await cli(env, '--json', 'predictions', 'ls', '--deployment', dep, '--limit', '1000'),
    ).predictions;
    const okCount = all.filter((p) => p.status === 'ok').length;
    expect(all.length).toBe(okCount + failed.length);
    const listed = await cli(env, 'predictions', 'ls', '--deployment', dep, '--status', 'failed');
    expect(listed.out).toMatch(/STATUS/);
    expect(listed.out).toMatch(/failed: UPSTREAM_TIMEOUT/);
    const badStatus = await cli(env, 'predictions', 'ls', '--status', 'broken');
    expect(badStatus.code).toBe(2);
    // show and trace say it failed and why.
    expect((await cli(env, 'predictions', 'show', timedOut.id)).out).toMatch(/error\s+UPSTREAM_TIMEOUT: /);
    expect((await cli(env, 'trace', timedOut.id)).out).toMatch(/FAILED: UPSTREAM_TIMEOUT/);
    // The export has them, with their status.
    const exported = (await cli(env, 'predictions', 'export', dep, '--format', 'jsonl')).out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(exported).toHaveLength(all.length);
    expect(exported.find((r) => r.prediction_id === timedOut.id)).toMatchObject({
      status: 'failed',
      error_code: 'UPSTREAM_TIMEOUT',
      prediction: null,
    });
    expect(exported.filter((r) => r.status === 'ok')).toHaveLength(okCount);
    // Feedback on a failed prediction is refused (nothing to label); an explanation too.
    const fed = await cli(env, 'feedback', timedOut.id, '1');
    expect(fed.code).toBe(4);
    expect(fed.err).toMatch(/failed \(UPSTREAM_TIMEOUT/);
    const explained = await cli(env, 'explain', timedOut.id);
    expect(explained.code).toBe(4);
    expect(explained.err).toMatch(/no output to explain/);
    // Monitoring reads the answered ones only.
    const spec = path.join(home, 'gw-monitor.yaml');
    fs.writeFileSync(spec, 'name: gw-watch\nwindow: 1h\n');
    const created = await cli(env, 'monitors', 'create', dep, '--file', spec);
    expect(created.code, created.err).toBe(0);
    const [run] = json<{ run: { rows: number } }[]>(
      await cli(
        env,
        '--json',
        'monitor',
        'run',
        dep,
        '--from',
        '1h',
        '--to',
        new Date(Date.now() + 60_000).toISOString(),
      ),
    );
    expect(run!.run.rows).toBe(okCount);
  }, 120_000);

  it("a deployment's own upstream settings: --upstream-timeout-ms overrides the version's 500 ms", async () => {
    const dep = `${model}-v2`;
    const updated = json<{ resilience: unknown }>(
      await cli(env, '--json', 'deployments', 'update', dep, '--upstream-timeout-ms', '4000'),
    );
    expect(updated.resilience).toEqual({ timeoutMs: 4000 });
    const bad = await cli(env, 'deployments', 'update', dep, '--upstream-timeout-ms', '5');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/timeoutMs/);
    const onnx = await cli(
      env,
      'deployments',
      'create',
      uniq('gw-onnx'),
      '--model',
      `${model}@1`,
      '--upstream-timeout-ms',
      '4000',
    );
    expect(onnx.code).toBe(2);
    expect(onnx.err).toMatch(/not an external model/);
    serve = await startServe(workspaceEnv(home), ['serve', `${model}@2`, '--port', '0']);
    await upstream.control({ mode: 'slow' });
    try {
      // The upstream answers in 1.5 s: past the version's 500 ms, within the deployment's 4 s.
      const slow = await post(`${serve.baseUrl}/predict`, [{ f0: 1, f1: 2, f2: 3 }]);
      expect(slow.status, JSON.stringify(slow.body)).toBe(200);
    } finally {
      await upstream.control({ mode: 'ok' });
    }
    serve.child.kill('SIGTERM');
    await serve.exited;
    serve = undefined;
    const reset = json<{ resilience: unknown }>(
      await cli(env, '--json', 'deployments', 'update', dep, '--reset-upstream'),
    );
    expect(reset.resilience).toBeNull();
  }, 120_000);

  it('the API registers one too (POST /api/v1/models/{name}/versions/endpoint); bad bodies are 400s naming the field', async () => {
    const ws = await openWorkspace(loadConfig(env));
    const app = await buildApp(ws);
    try {
      const url = `/api/v1/models/${model}-api/versions/endpoint`;
      const good = {
        url: `${upstream.url}/score`,
        protocol: 'json',
        mapping: {
          recordsAt: '/payload/instances',
          predictionsAt: '/results',
          prediction: '/label',
          probabilities: '/proba',
        },
        features: [
          { name: 'f0', type: 'float' },
          { name: 'f1', type: 'float' },
          { name: 'f2', type: 'float' },
        ],
        task: 'classification',
        classes: ['0', '1'],
      };
      const ok = await app.inject({ method: 'POST', url, payload: good });
      expect(ok.statusCode, ok.body).toBe(201);
      expect(ok.json()).toMatchObject({ version: 1, format: 'endpoint', source: `${upstream.url}/score` });
      const bad = await app.inject({ method: 'POST', url, payload: { ...good, protocol: 'grpc' } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(JSON.stringify(bad.json().error)).toMatch(/protocol/);
      const noClasses = await app.inject({ method: 'POST', url, payload: { ...good, classes: undefined } });
      expect(noClasses.statusCode).toBe(400);
      expect(noClasses.json().error.details.field).toBe('classes');
      const garbageMapping = await app.inject({
        method: 'POST',
        url,
        payload: { ...good, mapping: { ...good.mapping, predictionsAt: '/nothing' } },
      });
      expect(garbageMapping.statusCode).toBe(502);
      expect(garbageMapping.json().error).toMatchObject({
        code: 'UPSTREAM_ERROR',
        details: { reason: 'bad_answer' },
      });
      // A deployment's override over the API: merged on PATCH, null drops it, bad values name the field.
      const depUrl = `/api/v1/deployments/${model}-api`;
      const created = await app.inject({
        method: 'POST',
        url: '/api/v1/deployments',
        payload: { name: `${model}-api`, model: `${model}-api@1`, resilience: { timeoutMs: 1000 } },
      });
      expect(created.statusCode, created.body).toBe(201);
      expect(created.json().resilience).toEqual({ timeoutMs: 1000 });
      const merged = await app.inject({
        method: 'PATCH',
        url: depUrl,
        payload: { resilience: { retries: 0 } },
      });
      expect(merged.json().resilience).toEqual({ timeoutMs: 1000, retries: 0 });
      const wrong = await app.inject({
        method: 'PATCH',
        url: depUrl,
        payload: { resilience: { timeoutMs: -1 } },
      });
      expect(wrong.statusCode).toBe(400);
      expect(JSON.stringify(wrong.json().error)).toMatch(/resilience/);
      const dropped = await app.inject({ method: 'PATCH', url: depUrl, payload: { resilience: null } });
      expect(dropped.json().resilience).toBeNull();
      const failedOnly = await app.inject({
        method: 'GET',
        url: `/api/v1/predictions?deployment=${model}-v2&status=failed`,
      });
      expect(failedOnly.statusCode).toBe(200);
      const failedRows = failedOnly.json().predictions as { status: string; error: { code: string } }[];
      expect(failedRows.length).toBeGreaterThan(0);
      expect(failedRows.every((p) => p.status === 'failed' && p.error.code.startsWith('UPSTREAM_'))).toBe(
        true,
      );
    } finally {
      await app.close();
      await ws.close();
    }
  });

  it("monitoring's reference scores (CBPE) go through the endpoint: the version's training data scored by the server", async () => {
    const ws = await openWorkspace(loadConfig(env));
    try {
      const version = await ws.registry.versions.resolve(`${model}@2`);
      const ref = await referenceScoresOf({
        blobs: ws.blobs,
        datasets: ws.data.versions,
        download: (r) => ws.registry.versions.download(r),
        openScorer: ws.serving.openScorer,
      })(version, { maxRows: 40 });
      expect(ref.scores).toHaveLength(40);
      expect(ref.labels).toHaveLength(40);
      // Row 0 of the data: f0=-3, f1=-2, f2=-1 -> P(1) = sigmoid(-1.5 + 0.5 - 1 + 0.1).
      expect(ref.scores[0]).toBeCloseTo(1 / (1 + Math.exp(1.9)), 9);
    } finally {
      await ws.close();
    }
  });

  it('canary: an ONNX champion with the endpoint answering its share of request keys, logged as the challenger', async () => {
    const name = uniq('gw-canary');
    const created = await cli(
      env,
      'deployments',
      'create',
      name,
      '--model',
      `${model}@1`,
      '--canary',
      '2',
      '--percent',
      '100',
    );
    expect(created.code, created.err).toBe(0);
    const ws = await openWorkspace(loadConfig(env));
    try {
      const rt = await ws.serving.openRuntime({ actor: 'local', deployment: name });
      const { items } = await rt.predict([{ f0: 1, f1: 2, f2: 3 }], { requestKey: 'user-7' });
      await rt.close();
      expect(items[0]).toMatchObject({ version: 2, prediction: 1 });
      const logged = await ws.serving.predictions.get(items[0]!.prediction_id);
      expect(logged).toMatchObject({ version: 2, role: 'challenger', requestKey: 'user-7' });
    } finally {
      await ws.close();
    }
  });

  it('shadow both ways: an ONNX champion with the endpoint as shadow, and the endpoint as champion with ONNX as shadow', async () => {
    for (const [champion, shadow] of [
      ['1', '2'],
      ['2', '1'],
    ] as const) {
      const name = uniq('gw-shadow');
      const created = await cli(
        env,
        'deployments',
        'create',
        name,
        '--model',
        `${model}@${champion}`,
        '--shadow',
        shadow,
      );
      expect(created.code, created.err).toBe(0);
      const ws = await openWorkspace(loadConfig(env));
      try {
        const rt = await ws.serving.openRuntime({ actor: 'local', deployment: name });
        const { items } = await rt.predict([{ f0: 1, f1: 2, f2: 3 }]);
        await rt.close();
        const logged = await ws.serving.predictions.get(items[0]!.prediction_id);
        expect(logged.version).toBe(Number(champion));
        expect(logged.shadow?.error).toBeNull();
        expect(logged.shadow?.outputs).not.toBeNull();
        const [endpointOut, onnxOut] =
          champion === '2'
            ? [logged.outputs!, logged.shadow!.outputs!]
            : [logged.shadow!.outputs!, logged.outputs!];
        // The same weights on both sides: the ONNX score equals the endpoint's P(1).
        expect(Number((onnxOut.outputs as Record<string, number[]>).score![0])).toBeCloseTo(
          endpointOut.probabilities!['1']!,
          5,
        );
      } finally {
        await ws.close();
      }
    }
  }, 120_000);
  it('sextant predict and evaluate score a dataset through the endpoint, in batches; an upstream failure mid-way records nothing', async () => {
    // 1,200 rows: three upstream calls of 500 records.
    const rows = ['f0,f1,f2,y'];
    for (let i = 0; i < 1200; i++) rows.push(`${(i % 7) - 3},${(i % 5) - 2},${(i % 3) - 1},${i % 2}`);
    fs.writeFileSync(path.join(home, 'gw-big.csv'), `${rows.join('\n')}\n`);
    const big = `${model}-big`;
    expect((await cli(env, 'data', 'add', path.join(home, 'gw-big.csv'), '-d', big)).code).toBe(0);
    const before = await upstream.calls();
    const scored = json<{ runId: string; input: { rows: number }; output: { ref: string } }>(
      await cli(env, '--json', 'predict', `${model}@2`, '--dataset', `${big}@1`),
    );
    expect(scored.input.rows).toBe(1200);
    expect(scored.output.ref).toBe(`${big}-predictions@1`);
    // Metadata + probe at open, then 1,200 / 500 = 3 scoring calls.
    expect((await upstream.calls()) - before).toBe(5);
    const ws = await openWorkspace(loadConfig(env));
    try {
      const api = createLocalApi(ws);
      const version = await api.data.show(scored.output.ref);
      expect(version.producedByRunId).toBe(scored.runId);
      const run = await api.runs.get(scored.runId);
      expect(run.status).toBe('FINISHED');
      expect(run.params).toMatchObject({ model: `${model}@2`, dataset: `${big}@1` });
      expect(run.inputs.map((i) => i.direction).sort()).toEqual(['input', 'output']);
    } finally {
      await ws.close();
    }
    // Evaluate: the declared target, the endpoint's P(1) as the score.
    const evaluated = json<{ rows: number; task: string; metrics: Record<string, number> }>(
      await cli(env, '--json', 'evaluate', `${model}@2`, '-d', `${big}@1`),
    );
    expect(evaluated).toMatchObject({ rows: 1200, task: 'classification' });
    expect(evaluated.metrics.accuracy).toBeGreaterThan(0);
    // The server fails after the open and the first batch: a clear upstream error, nothing recorded.
    await upstream.control({ failAfter: 3 });
    try {
      const failed = await cli(
        env,
        'predict',
        `${model}@2`,
        '--dataset',
        `${big}@1`,
        '--output-dataset',
        `${big}-half`,
      );
      expect(failed.code).toBe(8);
      expect(failed.err).toMatch(
        /scoring stopped at row 500 of 1200 .*model crashed mid-way.*nothing was recorded/,
      );
      const ws2 = await openWorkspace(loadConfig(env));
      try {
        await expect(createLocalApi(ws2).data.show(`${big}-half@1`)).rejects.toMatchObject({
          code: 'NOT_FOUND',
        });
      } finally {
        await ws2.close();
      }
      await upstream.control({ failAfter: 3 });
      const failedEval = await cli(env, 'evaluate', `${model}@2`, '-d', `${big}@1`);
      expect(failedEval.code).toBe(8);
      expect(failedEval.err).toMatch(/scoring stopped at row 500 of 1200/);
    } finally {
      await upstream.control({ failAfter: -1 });
    }
  }, 120_000);
});
