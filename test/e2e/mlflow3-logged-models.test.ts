import { createHash, randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { modelVersionSchema } from '../../src/registry/index.js';
import { describeEachBackend } from '../support/backends.js';
import { MLFLOW, mlflowError, ok, PROXY, uniq, useMlflowApp } from './helpers.js';

/*
 * The HTTP calls an MLflow 3 Python client makes for `mlflow.start_run()` ... `mlflow.<flavor>.log_model(...,
 * registered_model_name=...)`, replayed with the field names and types of MLflow's service.proto
 * (LoggedModel, LoggedModelInfo, LogOutputs, SearchLoggedModels, DatasetSummary) and
 * mlflow_artifacts.proto (multipart upload). The Python client cannot be installed here.
 */

const kv = z.strictObject({ key: z.string(), value: z.string() });
const loggedModel = z.strictObject({
  info: z.strictObject({
    model_id: z.string().regex(/^m-/),
    experiment_id: z.string(),
    name: z.string(),
    creation_timestamp_ms: z.number().int(),
    last_updated_timestamp_ms: z.number().int(),
    artifact_uri: z.string(),
    status: z.enum(['LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED']),
    model_type: z.string().optional(),
    source_run_id: z.string().optional(),
    status_message: z.string().optional(),
    tags: z.array(kv),
    registrations: z.array(z.strictObject({ name: z.string(), version: z.string() })),
  }),
  data: z.strictObject({ params: z.array(kv), metrics: z.array(z.unknown()) }),
});
const modelReply = z.strictObject({ model: loggedModel });
const searchReply = z.strictObject({ models: z.array(loggedModel), next_page_token: z.string().optional() });
const mlflowVersion = z.object({
  name: z.string(),
  version: z.string(),
  source: z.string(),
  run_id: z.string().optional(),
  model_id: z.string().optional(),
});
const versionReply = z.strictObject({ model_version: mlflowVersion });
const historyBulk = z.strictObject({
  metrics: z.array(
    z.strictObject({
      key: z.string(),
      value: z.number(),
      timestamp: z.number().int(),
      step: z.number().int(),
      run_id: z.string(),
    }),
  ),
});
const datasetSummaries = z.strictObject({
  dataset_summaries: z.array(
    z.strictObject({
      experiment_id: z.string(),
      name: z.string(),
      digest: z.string(),
      context: z.string().optional(),
    }),
  ),
});
const listing = z.strictObject({
  root_uri: z.string(),
  files: z.array(z.strictObject({ path: z.string(), is_dir: z.boolean(), file_size: z.number().optional() })),
});
const mpuCreated = z.strictObject({
  upload_id: z.string(),
  credentials: z.array(
    z.strictObject({
      part_number: z.number().int(),
      url: z.string(),
      headers: z.record(z.string(), z.string()),
    }),
  ),
});

/** The proxy URL of a file under an `mlflow-artifacts:/...` URI, as MLflow's HttpArtifactRepository builds it. */
const proxyUrl = (artifactUri: string, file: string) =>
  `${PROXY}/${artifactUri.replace(/^mlflow-artifacts:\/+/, '')}/${file}`;

describeEachBackend('MLflow 3 client session: logged models, outputs, registry, bulk history', (getStore) => {
  const m = useMlflowApp(getStore);
  const send = (method: 'PATCH' | 'DELETE' | 'POST' | 'GET', path: string, payload?: object) =>
    m.app().inject({ method, url: `${MLFLOW}/${path}`, ...(payload ? { payload } : {}) });

  /** start_run, log params and a loss curve, log a training dataset: what precedes log_model. */
  async function trainedRun() {
    const exp = await m.newExperiment();
    const run = await m.newRun(exp, { tags: [{ key: 'mlflow.runName', value: uniq('run') }] });
    const runId = run.info.run_id;
    const t = Date.now();
    ok(
      await m.logBatch(runId, {
        params: [{ key: 'alpha', value: '0.5' }],
        metrics: [0, 1, 2].map((step) => ({
          key: 'loss',
          value: 1 / (step + 1),
          timestamp: String(t),
          step: String(step),
        })),
      }),
      z.strictObject({}),
    );
    ok(
      await m.client.post('runs/log-inputs', {
        run_id: runId,
        datasets: [
          {
            tags: [{ key: 'mlflow.data.context', value: 'training' }],
            dataset: { name: 'iris', digest: 'abc123', source_type: 'local', source: '{}' },
          },
        ],
      }),
      z.strictObject({}),
    );
    return { exp, run: run.info };
  }

  /** log_model: create the logged model, upload its files to its artifact_uri, finalize READY. */
  async function logModel(exp: string, runId: string, name = 'model') {
    const created = ok(
      await send('POST', 'logged-models', {
        experiment_id: exp,
        name,
        source_run_id: runId,
        model_type: 'Classifier',
        params: [{ key: 'alpha', value: '0.5' }],
        tags: [{ key: 'mlflow.source.type', value: 'LOCAL' }],
      }),
      modelReply,
    ).model;
    const files = {
      MLmodel: Buffer.from(`artifact_path: ${name}\nmodel_id: ${created.info.model_id}\n`),
      'model.pkl': randomBytes(2048),
    };
    for (const [file, bytes] of Object.entries(files)) {
      const res = await m
        .app()
        .inject({ method: 'PUT', url: proxyUrl(created.info.artifact_uri, file), payload: bytes });
      expect(res.statusCode, res.body).toBe(200);
    }
    const id = created.info.model_id;
    const ready = ok(
      await send('PATCH', `logged-models/${id}`, { model_id: id, status: 'LOGGED_MODEL_READY' }),
      modelReply,
    );
    return { created, ready: ready.model, files };
  }

  it("log_model + register_model: the version is the run's model folder, linked to the run and its lineage", async () => {
    const { exp, run } = await trainedRun();
    const { created, ready, files } = await logModel(exp, run.run_id);
    const id = created.info.model_id;
    expect(created.info).toMatchObject({
      status: 'LOGGED_MODEL_PENDING',
      source_run_id: run.run_id,
      experiment_id: exp,
    });
    expect(created.info.artifact_uri).toBe(`${run.artifact_uri}/models/${id}`);
    expect(created.data.params).toEqual([{ key: 'alpha', value: '0.5' }]);
    expect(ready.info.status).toBe('LOGGED_MODEL_READY');

    ok(
      await m.client.post('runs/outputs', { run_id: run.run_id, models: [{ model_id: id, step: '0' }] }),
      z.strictObject({}),
    );

    const reread = await m.getRun(run.run_id);
    expect(reread.outputs?.model_outputs).toEqual([{ model_id: id, step: 0 }]);
    expect(reread.inputs.model_inputs).toEqual([]);

    const listed = ok(await send('GET', `logged-models/${id}/artifacts/directories`), listing);
    expect(listed.files.map((f) => f.path).sort()).toEqual(['MLmodel', 'model.pkl']);
    const pkl = await m
      .app()
      .inject({ method: 'GET', url: proxyUrl(created.info.artifact_uri, 'model.pkl') });
    expect(pkl.rawPayload.equals(files['model.pkl'])).toBe(true);

    const name = uniq('Mlflow3Model');
    ok(await m.client.post('registered-models/create', { name }), z.object({}));
    const v = ok(
      await m.client.post('model-versions/create', {
        name,
        source: `models:/${id}`,
        run_id: run.run_id,
        model_id: id,
      }),
      versionReply,
    ).model_version;
    expect(v).toMatchObject({ name, version: '1', run_id: run.run_id, model_id: id });

    // Sextant's own view of the version: the run's lineage (params, metrics) and the files' hashes.
    const native = await m.app().inject({ method: 'GET', url: `/api/v1/models/${name}/versions/1` });
    const version = modelVersionSchema.parse(native.json());
    expect(version.runId).toBe(run.run_id);
    expect(version.params).toEqual({ alpha: '0.5' });
    expect(version.metrics.loss).toBeCloseTo(1 / 3);
    const pklSha = createHash('sha256').update(files['model.pkl']).digest('hex');
    expect(version.files.map((f) => f.sha256)).toContain(pklSha);

    // A later run that evaluates the model records it as an input (runs/log-inputs `models`).
    const evaluation = await m.newRun(exp);
    ok(
      await m.client.post('runs/log-inputs', { run_id: evaluation.info.run_id, models: [{ model_id: id }] }),
      z.strictObject({}),
    );
    expect((await m.getRun(evaluation.info.run_id)).inputs.model_inputs).toEqual([{ model_id: id }]);

    const after = ok(await send('GET', `logged-models/${id}`), modelReply).model;
    expect(after.info.registrations).toEqual([{ name, version: '1' }]);
  });

  it('registering through the artifact URI or model_id alone works; a PENDING or unknown model is refused', async () => {
    const { exp, run } = await trainedRun();
    const { ready } = await logModel(exp, run.run_id);
    const name = uniq('Mlflow3Uri');
    ok(await m.client.post('registered-models/create', { name }), z.object({}));
    const byUri = ok(
      await m.client.post('model-versions/create', { name, source: ready.info.artifact_uri }),
      versionReply,
    );
    expect(byUri.model_version.model_id).toBe(ready.info.model_id);
    const byId = ok(
      await m.client.post('model-versions/create', {
        name,
        source: `${ready.info.artifact_uri}/MLmodel`,
        model_id: ready.info.model_id,
      }),
      versionReply,
    );
    expect(byId.model_version.version).toBe('2');

    const pending = ok(
      await send('POST', 'logged-models', { experiment_id: exp, source_run_id: run.run_id }),
      modelReply,
    ).model;
    const msg = mlflowError(
      await m.client.post('model-versions/create', { name, source: `models:/${pending.info.model_id}` }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expect(msg).toMatch(/^source: .*PENDING/);
    mlflowError(
      await m.client.post('model-versions/create', { name, source: 'models:/m-doesnotexist' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    const versions = await m.app().inject({ method: 'GET', url: `/api/v1/models/${name}/versions` });
    expect((versions.json() as { versions: unknown[] }).versions).toHaveLength(2);
  });

  it('search, tags and params of logged models', async () => {
    const { exp, run } = await trainedRun();
    const a = (await logModel(exp, run.run_id, 'alpha-model')).ready.info.model_id;
    const b = (await logModel(exp, run.run_id, 'beta-model')).ready.info.model_id;
    ok(
      await send('PATCH', `logged-models/${b}/tags`, { model_id: b, tags: [{ key: 'team', value: 'risk' }] }),
      modelReply,
    );
    ok(
      await send('POST', `logged-models/${a}/params`, {
        model_id: a,
        params: [{ key: 'depth', value: '3' }],
      }),
      z.strictObject({}),
    );
    // A param, once logged, does not change.
    const changed = mlflowError(
      await send('POST', `logged-models/${a}/params`, {
        model_id: a,
        params: [{ key: 'depth', value: '4' }],
      }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    expect(changed).toMatch(/^params: /);

    const search = async (body: object) =>
      ok(await send('POST', 'logged-models/search', { experiment_ids: [exp], ...body }), searchReply);
    expect((await search({})).models.map((x) => x.info.model_id)).toEqual([b, a]);
    expect((await search({ filter: "name = 'alpha-model'" })).models.map((x) => x.info.model_id)).toEqual([
      a,
    ]);
    expect((await search({ filter: "tags.team = 'risk'" })).models.map((x) => x.info.model_id)).toEqual([b]);
    expect(
      (await search({ filter: "params.depth = '3' AND status = 'LOGGED_MODEL_READY'" })).models.map(
        (x) => x.info.model_id,
      ),
    ).toEqual([a]);
    const byName = await search({ order_by: [{ field_name: 'name', ascending: true }], max_results: 1 });
    expect(byName.models.map((x) => x.info.name)).toEqual(['alpha-model']);
    const next = await search({
      order_by: [{ field_name: 'name', ascending: true }],
      max_results: 1,
      page_token: byName.next_page_token,
    });
    expect(next.models.map((x) => x.info.name)).toEqual(['beta-model']);
    expect(
      mlflowError(
        await send('POST', 'logged-models/search', { experiment_ids: [exp], filter: "metrics.acc > 'high'" }),
        400,
        'INVALID_PARAMETER_VALUE',
      ),
    ).toMatch(/^filter: /);

    ok(await send('DELETE', `logged-models/${b}/tags/team`), z.strictObject({}));
    expect((await search({ filter: "tags.team = 'risk'" })).models).toEqual([]);
    ok(await send('DELETE', `logged-models/${a}`, { model_id: a }), z.strictObject({}));
    expect((await search({})).models.map((x) => x.info.model_id)).toEqual([b]);
  });

  it('get-history-bulk and search-datasets answer for the runs of a session', async () => {
    const first = await trainedRun();
    const second = await m.newRun(first.exp);
    ok(
      await m.logBatch(second.info.run_id, {
        metrics: [{ key: 'loss', value: 9, timestamp: Date.now(), step: 5 }],
      }),
      z.strictObject({}),
    );
    const bulk = ok(
      await m.client.get('metrics/get-history-bulk', {
        run_id: [first.run.run_id, second.info.run_id],
        metric_key: 'loss',
      }),
      historyBulk,
    );
    const byRun = (id: string) => bulk.metrics.filter((x) => x.run_id === id).map((x) => x.step);
    expect(byRun(first.run.run_id)).toEqual([0, 1, 2]);
    expect(byRun(second.info.run_id)).toEqual([5]);
    const capped = ok(
      await m.client.get('metrics/get-history-bulk', {
        run_id: [first.run.run_id, second.info.run_id],
        metric_key: 'loss',
        max_results: 2,
      }),
      historyBulk,
    );
    expect(capped.metrics).toHaveLength(2);

    const summaries = ok(
      await m.client.post('experiments/search-datasets', { experiment_ids: [first.exp] }),
      datasetSummaries,
    );
    expect(summaries.dataset_summaries).toEqual([
      { experiment_id: first.exp, name: 'iris', digest: 'abc123', context: 'training' },
    ]);
  });

  it('multipart upload: parts join into one artifact; a wrong etag stores nothing; abort forgets the parts', async () => {
    const { exp, run } = await trainedRun();
    const path = `${exp}/${run.run_id}/artifacts/big/weights.bin`;
    const parts = [randomBytes(5000), randomBytes(3000), randomBytes(17)];
    const start = async () =>
      ok(
        await m.app().inject({
          method: 'POST',
          url: `/api/2.0/mlflow-artifacts/mpu/create/${path}`,
          payload: { path, num_parts: parts.length },
        }),
        mpuCreated,
      );
    const putParts = async (created: z.infer<typeof mpuCreated>) => {
      const etags = [];
      for (const c of created.credentials) {
        const url = new URL(c.url);
        expect(url.pathname).toBe(
          `/api/2.0/mlflow-artifacts/mpu/parts/${created.upload_id}/${c.part_number}`,
        );
        const res = await m.app().inject({
          method: 'PUT',
          url: url.pathname,
          payload: parts[c.part_number - 1],
          headers: c.headers,
        });
        expect(res.statusCode, res.body).toBe(200);
        etags.push({ part_number: c.part_number, etag: String(res.headers.etag) });
      }
      return etags;
    };
    const complete = (uploadId: string, etags: { part_number: number; etag: string }[]) =>
      m.app().inject({
        method: 'POST',
        url: `/api/2.0/mlflow-artifacts/mpu/complete/${path}`,
        payload: { path, upload_id: uploadId, parts: etags },
      });

    const bad = await start();
    const badTags = await putParts(bad);
    badTags[1] = { part_number: 2, etag: '"0000"' };
    expect(mlflowError(await complete(bad.upload_id, badTags), 400, 'INVALID_PARAMETER_VALUE')).toMatch(
      /^parts: /,
    );
    expect((await m.app().inject({ method: 'GET', url: `${PROXY}/${path}` })).statusCode).toBe(404);
    ok(
      await m.app().inject({
        method: 'POST',
        url: `/api/2.0/mlflow-artifacts/mpu/abort/${path}`,
        payload: { path, upload_id: bad.upload_id },
      }),
      z.strictObject({}),
    );
    const late = await m.app().inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/mpu/parts/${bad.upload_id}/1`,
      payload: parts[0],
    });
    mlflowError(late, 404, 'RESOURCE_DOES_NOT_EXIST');

    const good = await start();
    const goodTags = await putParts(good);
    ok(await complete(good.upload_id, goodTags.reverse()), z.strictObject({}));
    const got = await m.app().inject({ method: 'GET', url: `${PROXY}/${path}` });
    expect(got.rawPayload.equals(Buffer.concat(parts))).toBe(true);
  });

  it('bad input: unknown ids are RESOURCE_DOES_NOT_EXIST, a bad status names the field, nothing changes', async () => {
    const { exp, run } = await trainedRun();
    const unknown = await send('GET', 'logged-models/m-0000000000000000000000000a');
    expect(mlflowError(unknown, 404, 'RESOURCE_DOES_NOT_EXIST')).toMatch(/m-0000000000000000000000000a/);
    mlflowError(
      await send('PATCH', 'logged-models/m-0000000000000000000000000a', { status: 'LOGGED_MODEL_READY' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    mlflowError(
      await m.client.post('runs/outputs', {
        run_id: run.run_id,
        models: [{ model_id: 'm-0000000000000000000000000a', step: 0 }],
      }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );

    const id = ok(
      await send('POST', 'logged-models', { experiment_id: exp, source_run_id: run.run_id }),
      modelReply,
    ).model.info.model_id;
    for (const status of ['DONE', 'LOGGED_MODEL_PENDING', 7]) {
      const msg = mlflowError(
        await send('PATCH', `logged-models/${id}`, { status }),
        400,
        'INVALID_PARAMETER_VALUE',
      );
      expect(msg).toMatch(/status/);
    }
    expect(ok(await send('GET', `logged-models/${id}`), modelReply).model.info.status).toBe(
      'LOGGED_MODEL_PENDING',
    );
    expect(
      mlflowError(
        await send('POST', 'logged-models', { experiment_id: exp, source_run_id: 'nope' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      ),
    ).toMatch(/nope/);
    mlflowError(
      await send('POST', 'logged-models', { experiment_id: '999999' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    expect(
      mlflowError(
        await send('POST', 'logged-models', { experiment_id: 'abc' }),
        400,
        'INVALID_PARAMETER_VALUE',
      ),
    ).toMatch(/experiment_id/);
    expect(
      mlflowError(await send('PATCH', `logged-models/${id}`, {}), 400, 'INVALID_PARAMETER_VALUE'),
    ).toMatch(/status/);

    // A run's model keeps its files in the run: writing them under the model's own root is refused by name.
    const put = await m
      .app()
      .inject({ method: 'PUT', url: `${PROXY}/${exp}/models/${id}/artifacts/MLmodel`, payload: 'x' });
    expect(mlflowError(put, 400, 'INVALID_PARAMETER_VALUE')).toMatch(/^path: .*produced by run/);
  });
});
