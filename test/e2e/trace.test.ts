import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { explanationSchema } from '../../src/governance/explain/index.js';
import { predictionTraceSchema } from '../../src/governance/trace/index.js';
import type { DeploymentRuntime } from '../../src/serving/index.js';
import { deploymentSchema, predictionSchema } from '../../src/serving/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { nativeError, uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';
import { buildChain, type Chain, GIT_COMMIT } from './serving-chain.js';

/*
 * A prediction traced back to its training data, on a real chain: data add (raw -> derived, with
 * sources) -> quality suite -> train (tracked run) -> register -> promote with a second user's
 * approval -> deploy -> predict. The trace names the alias holder AT SERVING TIME, so moving the alias
 * on does not rewrite the history of earlier predictions.
 */

const listSchema = z.object({ predictions: z.array(predictionSchema), nextCursor: z.string().nullable() });

describeEachBackend('prediction trace', (getStore) => {
  let t: TestApp;
  let chain: Chain;
  let deployment: string;
  let v1: { runId: string; version: { id: string; version: number } };
  let firstPrediction: string;
  const runtimes: DeploymentRuntime[] = [];

  const get = (url: string) => t.app.inject({ method: 'GET', url });
  const traceOf = async (id: string) => {
    const res = await get(`/api/v1/predictions/${id}/trace`);
    expect(res.statusCode, res.body).toBe(200);
    return predictionTraceSchema.parse(res.json());
  };
  async function predictOn(name: string, record: unknown): Promise<string> {
    const rt = await t.services.serving.openRuntime({ actor: 'local', deployment: name });
    runtimes.push(rt);
    const { items } = await rt.predict(record);
    await rt.close();
    const id = items[0]?.prediction_id;
    if (!id) throw new Error('no prediction id');
    return id;
  }

  beforeAll(async () => {
    t = await createTestApp(getStore());
    chain = await buildChain(t.services);
    v1 = await chain.train(1);
    await chain.promote(1, 'first model, AUC above the bar');
    deployment = uniq('credit-api');
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/deployments',
      payload: { name: deployment, model: `${chain.model}@champion` },
    });
    expect(created.statusCode, created.body).toBe(201);
    firstPrediction = await predictOn(deployment, chain.records[0]!);
  }, 120_000);
  afterAll(async () => {
    for (const rt of runtimes) await rt.close().catch(() => undefined);
    await t.services.serving.close();
    await t.services.webhooks.close();
    await t.close();
    chain?.cleanup();
  });

  it('shows the whole chain: inputs -> version, alias at that moment, approvals -> run -> data -> upstream', async () => {
    const tr = await traceOf(firstPrediction);
    expect(tr.gaps).toEqual([]);
    expect(tr.prediction).toMatchObject({
      id: firstPrediction,
      model: chain.model,
      version: 1,
      alias: 'champion',
    });
    expect(tr.prediction.inputs).toMatchObject({ age: chain.records[0]!.age });
    expect(tr.deployment).toMatchObject({ name: deployment, ref: 'champion' });

    expect(tr.modelVersion).toMatchObject({
      id: v1.version.id,
      ref: `${chain.model}@1`,
      format: 'onnx',
      codeCommit: GIT_COMMIT,
    });
    expect(tr.modelVersion?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(tr.modelVersion?.signature?.target).toBe('defaulted');

    expect(tr.alias).toMatchObject({ name: 'champion', holder: 1, servedByHolder: true });
    // The move is executed by the approval that completed it; the request says who asked.
    expect(tr.alias?.since).toMatchObject({ kind: 'promote', toVersion: 1, actor: chain.approver });
    expect(tr.alias?.request).toMatchObject({ requestedBy: chain.editor, status: 'executed' });
    expect(tr.alias?.since?.reason).toBe('first model, AUC above the bar');
    expect(tr.alias?.since?.approvals.map((a) => [a.actor, a.role])).toEqual([[chain.approver, 'approver']]);

    expect(tr.run).toMatchObject({ id: v1.runId, status: 'FINISHED', gitCommit: GIT_COMMIT });
    expect(tr.run?.command).toContain('sextant train');
    expect(tr.run?.params).toMatchObject({ model: 'linear', target: 'defaulted', seed: '1' });
    expect(tr.run?.metrics.val_roc_auc).toEqual(expect.any(Number));

    expect(tr.datasets).toHaveLength(1);
    const d = tr.datasets[0]!;
    expect(d).toMatchObject({
      id: chain.datasetVersionId,
      ref: `${chain.credit}@1`,
      source: 'warehouse://credit/clean',
      rowCount: 300,
    });
    expect(d.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(d.files[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(d.quality).toEqual([
      expect.objectContaining({ suite: 'basic', passed: true, total: 3, failed: 0, by: chain.editor }),
    ]);
    expect(d.upstream.map((n) => n.ref)).toContain(`${chain.raw}@1`);
  });

  it('after the alias moves on, an old prediction still names the version that held it then', async () => {
    await chain.train(2);
    await chain.promote(2, 'retrained');
    const second = await predictOn(deployment, chain.records[1]!);

    const old = await traceOf(firstPrediction);
    expect(old.alias).toMatchObject({ holder: 1, servedByHolder: true });
    expect(old.alias?.since?.toVersion).toBe(1);
    expect(old.modelVersion?.aliasesNow).toEqual([]);

    const now = await traceOf(second);
    expect(now.prediction.version).toBe(2);
    expect(now.alias).toMatchObject({ holder: 2, servedByHolder: true });
    expect(now.alias?.since).toMatchObject({
      kind: 'promote',
      fromVersion: 1,
      toVersion: 2,
      reason: 'retrained',
    });

    // The listing filters by version as people write it.
    const res = await get(`/api/v1/predictions?modelVersion=${encodeURIComponent(`${chain.model}@1`)}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(listSchema.parse(res.json()).predictions.map((p) => p.id)).toEqual([firstPrediction]);
    const byDeployment = listSchema.parse((await get(`/api/v1/predictions?deployment=${deployment}`)).json());
    expect(byDeployment.predictions.map((p) => p.id)).toEqual([second, firstPrediction]);
  });

  it('the text view reads as a chain', async () => {
    const res = await get(`/api/v1/predictions/${firstPrediction}/trace?format=text`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toContain(`prediction ${firstPrediction} at `);
    expect(text).toMatch(
      new RegExp(
        `-> ${chain.model}@1 \\(champion since \\S+, promoted by ${chain.editor}, approved by ${chain.approver}\\)`,
      ),
    );
    expect(text).toContain(`-> run ${v1.runId}`);
    expect(text).toContain(`code        ${GIT_COMMIT}`);
    expect(text).toMatch(
      new RegExp(`-> dataset ${chain.credit}@1 sha256:[0-9a-f]{12} \\(quality: 3/3 passed`),
    );
    expect(text).toContain(`<- dataset ${chain.raw}@1`);
  });

  it('a model uploaded from a file, or a deleted run, is a gap in the chain, not an error', async () => {
    const foreign = uniq('foreign');
    await t.services.registry.versions.registerFile({
      actor: { name: 'local', role: 'admin' },
      model: foreign,
      filename: 'model.onnx',
      content: tinyOnnxModel(),
    });
    const name = uniq('foreign-api');
    await t.services.serving.deployments.create({ actor: 'local', name, model: `${foreign}@1` });
    const id = await predictOn(name, [[0.1, 0.2, 0.3]]);
    const tr = await traceOf(id);
    expect(tr.prediction.alias).toBeNull();
    expect(tr.alias).toBeNull();
    expect(tr.run).toBeNull();
    expect(tr.datasets).toEqual([]);
    expect(tr.gaps.map((g) => g.link).sort()).toEqual(['dataset_version', 'run']);
    // Each gap names the thing that is missing and what to do about it.
    expect(tr.gaps.find((g) => g.link === 'dataset_version')?.reason).toBe(
      `${foreign}@1 records no training dataset versions: register versions from runs that log their dataset inputs (\`sextant train\` does)`,
    );
    const text = (await get(`/api/v1/predictions/${id}/trace?format=text`)).body;
    expect(text).toContain('was served pinned, not under an alias');
    expect(text).toMatch(/-> run \(missing: .* was registered from/);

    // A chain whose run and dataset version are not in this workspace (a registry copied from
    // another one): the gaps name the run, the dataset version and the version they trained.
    const copied = uniq('copied');
    const fromElsewhere = await t.services.registry.versions.registerFile({
      actor: { name: 'local', role: 'admin' },
      model: copied,
      filename: 'model.onnx',
      content: tinyOnnxModel(),
    });
    await t.services.store.db
      .updateTable('model_versions')
      .set({
        run_id: 'run_00000000000000000000000000',
        dataset_version_ids: JSON.stringify(['dsv_00000000000000000000000000']),
      })
      .where('id', '=', fromElsewhere.id)
      .execute();
    const copiedApi = uniq('copied-api');
    await t.services.serving.deployments.create({ actor: 'local', name: copiedApi, model: `${copied}@1` });
    const copiedTrace = await traceOf(await predictOn(copiedApi, [[0.1, 0.2, 0.3]]));
    expect(copiedTrace.gaps.find((g) => g.link === 'run')).toEqual({
      link: 'run',
      ref: 'run_00000000000000000000000000',
      reason: `run run_00000000000000000000000000, which trained ${copied}@1, is not in this workspace: \`sextant runs ls\` lists the runs here`,
    });
    expect(copiedTrace.gaps.find((g) => g.link === 'dataset_version')).toEqual({
      link: 'dataset_version',
      ref: 'dsv_00000000000000000000000000',
      reason: `dataset version dsv_00000000000000000000000000, which trained ${copied}@1, is not in this workspace: \`sextant data ls\` lists the datasets here`,
    });

    await t.services.runs.delete('local', v1.runId);
    const afterDelete = await traceOf(firstPrediction);
    expect(afterDelete.run?.lifecycleStage).toBe('deleted');
  });

  it('explains a logged prediction over HTTP; attributions add up to the output', async () => {
    const res = await get(`/api/v1/predictions/${firstPrediction}/explanation`);
    expect(res.statusCode, res.body).toBe(200);
    const { prediction, explanation } = z
      .object({ prediction: predictionSchema, explanation: explanationSchema })
      .parse(res.json());
    expect(prediction.id).toBe(firstPrediction);
    expect(explanation).toMatchObject({ method: 'linear', exact: true });
    const sum = Object.values(explanation.attributions).reduce((n, v) => n + v, 0);
    expect(explanation.baseValue + sum).toBeCloseTo(explanation.output, 6);
    const bad = nativeError(
      await get(`/api/v1/predictions/${firstPrediction}/explanation?samples=1`),
      400,
      'VALIDATION_FAILED',
    );
    expect(bad.details).toEqual({ field: 'querystring.samples' });
  });

  it('answers 400 naming the field for a malformed id or filter, 404 for an unknown prediction', async () => {
    expect(
      nativeError(await get('/api/v1/predictions/nope/trace'), 400, 'VALIDATION_FAILED').details,
    ).toEqual({
      field: 'params.id',
    });
    nativeError(await get('/api/v1/predictions/pred_01/explanation'), 400, 'VALIDATION_FAILED');
    nativeError(await get('/api/v1/predictions/pred_00000000000000000000000000'), 404, 'NOT_FOUND');
    nativeError(await get('/api/v1/predictions/pred_00000000000000000000000000/trace'), 404, 'NOT_FOUND');
    const bad = nativeError(await get('/api/v1/predictions?modelVersion=credit'), 400, 'VALIDATION_FAILED');
    expect(bad.details).toEqual({ field: 'querystring.modelVersion' });
    nativeError(await get('/api/v1/predictions?since=yesterday'), 400, 'VALIDATION_FAILED');
    nativeError(await get('/api/v1/predictions?deployment=nobody-here'), 404, 'NOT_FOUND');
    nativeError(
      await get(`/api/v1/predictions/${firstPrediction}/trace?format=xml`),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('deployments: create, list, show, update, delete over HTTP; bad bodies are 400, unknown names 404', async () => {
    const name = uniq('dep');
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/deployments',
      payload: { name, model: `${chain.model}@champion`, challenger: { ref: '1', mode: 'shadow' } },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(deploymentSchema.parse(created.json())).toMatchObject({
      name,
      ref: 'champion',
      challenger: { ref: '1', mode: 'shadow' },
    });
    const list = z
      .object({ deployments: z.array(deploymentSchema) })
      .parse((await get('/api/v1/deployments')).json());
    expect(list.deployments.map((d) => d.name)).toContain(name);
    expect(deploymentSchema.parse((await get(`/api/v1/deployments/${name}`)).json()).name).toBe(name);
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/deployments/${name}`,
      payload: { challenger: null, ledgerMode: 'async' },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(deploymentSchema.parse(patched.json())).toMatchObject({ challenger: null, ledgerMode: 'async' });
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/deployments/${name}` })).statusCode).toBe(
      200,
    );
    nativeError(await get(`/api/v1/deployments/${name}`), 404, 'NOT_FOUND');

    const badBody = nativeError(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/deployments',
        payload: { name: '-x', model: 'a@1' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expect(badBody.details).toEqual({ field: 'body.name' });
    nativeError(
      await t.app.inject({ method: 'PATCH', url: `/api/v1/deployments/${uniq('ghost')}`, payload: {} }),
      404,
      'NOT_FOUND',
    );
  });
});
