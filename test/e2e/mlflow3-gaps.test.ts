import { createHash, randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { auditEntrySchema } from '../../src/audit/index.js';
import { modelVersionSchema } from '../../src/registry/index.js';
import { describeEachBackend } from '../support/backends.js';
import { MLFLOW, mlflowError, ok, PROXY, uniq, useMlflowApp } from './helpers.js';

/*
 * The calls of an MLflow 3 client session that logs a model outside a run (`mlflow.<flavor>.log_model`
 * with no active run), evaluates it inside a run (`mlflow.log_metric(..., model_id=..., dataset=...)`),
 * searches models by metric, registers the best one (`mlflow.register_model("models:/<id>", ...)`) and
 * downloads its files, with the field names and types of MLflow's service.proto (LoggedModel, Metric,
 * SearchLoggedModels) and mlflow_artifacts.proto. The Python client cannot be installed here.
 */

const kv = z.strictObject({ key: z.string(), value: z.string() });
const modelMetric = z.strictObject({
  key: z.string(),
  value: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]),
  timestamp: z.number().int(),
  step: z.number().int(),
  dataset_name: z.string().optional(),
  dataset_digest: z.string().optional(),
  model_id: z.string(),
  run_id: z.string(),
});
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
  data: z.strictObject({ params: z.array(kv), metrics: z.array(modelMetric) }),
});
const modelReply = z.strictObject({ model: loggedModel });
const searchReply = z.strictObject({ models: z.array(loggedModel), next_page_token: z.string().optional() });
const versionReply = z.strictObject({
  model_version: z.object({
    name: z.string(),
    version: z.string(),
    source: z.string(),
    run_id: z.string().optional(),
    model_id: z.string().optional(),
  }),
});
const listing = z.strictObject({
  files: z.array(z.strictObject({ path: z.string(), is_dir: z.boolean(), file_size: z.number().optional() })),
});
const directories = listing.extend({ root_uri: z.string() });
const auditPage = z.object({ entries: z.array(auditEntrySchema) });

/** The proxy path of a file under an `mlflow-artifacts:/...` URI, as MLflow's HttpArtifactRepository builds it. */
const proxyPath = (artifactUri: string, file = '') =>
  `${artifactUri.replace(/^mlflow-artifacts:\/+/, '')}${file ? `/${file}` : ''}`;

describeEachBackend(
  'MLflow 3 client session: models outside runs, model metrics, search by metric',
  (getStore) => {
    const m = useMlflowApp(getStore);
    const send = (method: 'PATCH' | 'DELETE' | 'POST' | 'GET', path: string, payload?: object) =>
      m.app().inject({ method, url: `${MLFLOW}/${path}`, ...(payload ? { payload } : {}) });

    /** log_model with no active run: create, upload the files to artifact_uri (one nested), finalize READY. */
    async function logModelOutsideRun(exp: string, name: string) {
      const created = ok(
        await send('POST', 'logged-models', {
          experiment_id: exp,
          name,
          model_type: 'Classifier',
          params: [{ key: 'C', value: '1.0' }],
        }),
        modelReply,
      ).model;
      const files: Record<string, Buffer> = {
        MLmodel: Buffer.from(`artifact_path: ${name}\nmodel_id: ${created.info.model_id}\nflavors: {}\n`),
        'model.pkl': randomBytes(4096),
        'metadata/requirements.txt': Buffer.from('scikit-learn==1.5.0\n'),
      };
      for (const [file, bytes] of Object.entries(files)) {
        const put = await m.app().inject({
          method: 'PUT',
          url: `${PROXY}/${proxyPath(created.info.artifact_uri, file)}`,
          payload: bytes,
        });
        expect(put.statusCode, put.body).toBe(200);
      }
      const id = created.info.model_id;
      ok(
        await send('PATCH', `logged-models/${id}`, { model_id: id, status: 'LOGGED_MODEL_READY' }),
        modelReply,
      );
      return { created, id, files };
    }

    it('a model logged outside a run keeps its files under its own artifact_uri, listed, downloaded and audited', async () => {
      const exp = await m.newExperiment();
      const { created, id, files } = await logModelOutsideRun(exp, 'clf');
      expect(created.info.source_run_id).toBeUndefined();
      expect(created.info.artifact_uri).toBe(`mlflow-artifacts:/${exp}/models/${id}/artifacts`);

      // list_artifacts through the proxy: one folder level, names relative to the folder listed.
      const root = ok(
        await m.app().inject({ method: 'GET', url: `${PROXY}?path=${proxyPath(created.info.artifact_uri)}` }),
        listing,
      );
      expect(root.files).toEqual([
        { path: 'metadata', is_dir: true },
        { path: 'MLmodel', is_dir: false, file_size: files.MLmodel!.length },
        { path: 'model.pkl', is_dir: false, file_size: 4096 },
      ]);
      const nested = ok(
        await m.app().inject({
          method: 'GET',
          url: `${PROXY}?path=${proxyPath(created.info.artifact_uri, 'metadata')}`,
        }),
        listing,
      );
      expect(nested.files.map((f) => f.path)).toEqual(['requirements.txt']);
      // The UI's listing of a logged model's files, and its download endpoint.
      const dirs = ok(await send('GET', `logged-models/${id}/artifacts/directories`), directories);
      expect(dirs.root_uri).toBe(created.info.artifact_uri);
      expect(dirs.files.map((f) => f.path)).toEqual(['metadata', 'MLmodel', 'model.pkl']);
      const viaUi = await send('GET', `logged-models/${id}/artifacts/files?artifact_file_path=model.pkl`);
      expect(viaUi.rawPayload.equals(files['model.pkl']!)).toBe(true);

      const pkl = await m
        .app()
        .inject({ method: 'GET', url: `${PROXY}/${proxyPath(created.info.artifact_uri, 'model.pkl')}` });
      expect(pkl.statusCode).toBe(200);
      expect(pkl.rawPayload.equals(files['model.pkl']!)).toBe(true);

      // Every upload is one audit entry on the model, naming the path and the content hash.
      const audit = ok(
        await m.app().inject({ method: 'GET', url: `/api/v1/audit?entityType=logged_model&entityId=${id}` }),
        auditPage,
      );
      const puts = audit.entries.filter((e) => e.action === 'logged_model.artifact_put');
      expect(puts.map((e) => (e.details as { path: string }).path).sort()).toEqual(Object.keys(files).sort());
      const pklSha = createHash('sha256').update(files['model.pkl']!).digest('hex');
      expect(puts.find((e) => (e.details as { path: string }).path === 'model.pkl')?.details).toMatchObject({
        sha256: pklSha,
        size: 4096,
      });

      // Content-addressed: a second model with the same bytes shares the blob, yet each keeps its own file.
      const twin = ok(await send('POST', 'logged-models', { experiment_id: exp }), modelReply).model;
      const url = `${PROXY}/${proxyPath(twin.info.artifact_uri, 'model.pkl')}`;
      expect((await m.app().inject({ method: 'PUT', url, payload: files['model.pkl'] })).statusCode).toBe(
        200,
      );
      ok(await m.app().inject({ method: 'DELETE', url }), z.strictObject({}));
      mlflowError(await m.app().inject({ method: 'GET', url }), 404, 'RESOURCE_DOES_NOT_EXIST');
      const still = await m
        .app()
        .inject({ method: 'GET', url: `${PROXY}/${proxyPath(created.info.artifact_uri, 'model.pkl')}` });
      expect(still.rawPayload.equals(files['model.pkl']!)).toBe(true);
    });

    it('metrics logged inside a run with model_id land on the model and the run; search filters and orders by them', async () => {
      const exp = await m.newExperiment();
      const a = (await logModelOutsideRun(exp, 'a')).id;
      const b = (await logModelOutsideRun(exp, 'b')).id;
      const c = (await logModelOutsideRun(exp, 'c')).id;

      const evaluation = await m.newRun(exp);
      const runId = evaluation.info.run_id;
      ok(
        await m.client.post('runs/log-inputs', {
          run_id: runId,
          models: [a, b, c].map((model_id) => ({ model_id })),
        }),
        z.strictObject({}),
      );
      const t = Date.now();
      // mlflow.log_metric("accuracy", 0.91, model_id=a, dataset=eval_ds): one log-metric call.
      ok(
        await m.client.post('runs/log-metric', {
          run_id: runId,
          key: 'accuracy',
          value: 0.91,
          timestamp: t,
          step: 0,
          model_id: a,
          dataset_name: 'eval',
          dataset_digest: 'd1',
        }),
        z.strictObject({}),
      );
      // mlflow.log_metrics({...}, model_id=...): log-batch with the Metric fields MLflow 3 sends.
      const metric = (model_id: string, value: number | string, dataset_name: string, ts = t) => ({
        key: 'accuracy',
        value,
        timestamp: String(ts),
        step: '0',
        model_id,
        dataset_name,
        dataset_digest: dataset_name === 'eval' ? 'd1' : 'd0',
        run_id: runId,
      });
      ok(
        await m.logBatch(runId, {
          metrics: [
            metric(b, 0.42, 'eval'),
            metric(b, 0.99, 'train'),
            metric(c, 0.77, 'eval'),
            metric(a, 0.5, 'train', t - 1),
          ],
        }),
        z.strictObject({}),
      );

      const got = ok(await send('GET', `logged-models/${a}`), modelReply).model;
      expect(got.data.metrics).toEqual([
        {
          key: 'accuracy',
          value: 0.5,
          timestamp: t - 1,
          step: 0,
          dataset_name: 'train',
          dataset_digest: 'd0',
          model_id: a,
          run_id: runId,
        },
        {
          key: 'accuracy',
          value: 0.91,
          timestamp: t,
          step: 0,
          dataset_name: 'eval',
          dataset_digest: 'd1',
          model_id: a,
          run_id: runId,
        },
      ]);
      // The run that measured them has them too, as MLflow writes both.
      const history = ok(
        await m.client.get('metrics/get-history', { run_id: runId, metric_key: 'accuracy' }),
        z.object({ metrics: z.array(z.object({ value: z.number() })) }),
      );
      expect(history.metrics.map((x) => x.value).sort()).toEqual([0.42, 0.5, 0.77, 0.91, 0.99]);

      const search = async (body: object) =>
        ok(
          await send('POST', 'logged-models/search', { experiment_ids: [exp], ...body }),
          searchReply,
        ).models.map((x) => x.info.model_id);
      // Scoped to the eval dataset: a 0.91, b 0.42, c 0.77.
      const evalOnly = [{ dataset_name: 'eval', dataset_digest: 'd1' }];
      expect(await search({ filter: 'metrics.accuracy > 0.5', datasets: evalOnly })).toEqual(
        expect.arrayContaining([a, c]),
      );
      expect(await search({ filter: 'metrics.accuracy > 0.5', datasets: evalOnly })).toHaveLength(2);
      expect(
        await search({
          datasets: evalOnly,
          order_by: [{ field_name: 'metrics.accuracy', ascending: false, dataset_name: 'eval' }],
        }),
      ).toEqual([a, c, b]);
      expect(
        await search({
          order_by: [
            { field_name: 'metrics.accuracy', ascending: true, dataset_name: 'eval', dataset_digest: 'd1' },
          ],
        }),
      ).toEqual([b, c, a]);
      // Unscoped, each model's latest value counts; a model without the metric matches no metric clause.
      const d = ok(await send('POST', 'logged-models', { experiment_id: exp, name: 'd' }), modelReply).model
        .info.model_id;
      expect(await search({ filter: "metrics.accuracy >= 0.42 AND name != 'zzz'" })).toHaveLength(3);
      const ordered = await search({
        order_by: [{ field_name: 'metrics.accuracy', ascending: false, dataset_name: 'train' }],
      });
      expect(ordered.slice(0, 2)).toEqual([b, a]);
      expect(ordered.slice(2).sort()).toEqual([c, d].sort());

      // Bad input names the field and logs nothing.
      expect(
        mlflowError(
          await m.client.post('runs/log-metric', {
            run_id: runId,
            key: 'x',
            value: 1,
            timestamp: t,
            model_id: 'm-0000000000000000000000000a',
          }),
          404,
          'RESOURCE_DOES_NOT_EXIST',
        ),
      ).toMatch(/m-0000000000000000000000000a/);
      expect(
        mlflowError(
          await m.client.post('runs/log-metric', {
            run_id: runId,
            key: 'x',
            value: 1,
            timestamp: t,
            model_id: 'not-a-model',
          }),
          400,
          'INVALID_PARAMETER_VALUE',
        ),
      ).toMatch(/model_id/);
      const after = ok(
        await m.client.get('metrics/get-history', { run_id: runId, metric_key: 'x' }),
        z.object({ metrics: z.array(z.unknown()).default([]) }),
      );
      expect(after.metrics).toEqual([]);
      expect(
        mlflowError(
          await send('POST', 'logged-models/search', {
            experiment_ids: [exp],
            order_by: [{ field_name: 'name', dataset_name: 'eval' }],
          }),
          400,
          'INVALID_PARAMETER_VALUE',
        ),
      ).toMatch(/order_by\.0\.dataset_name/);
    });

    it('register_model("models:/<id>") makes a version of a run-less model; its download URI serves the files', async () => {
      const exp = await m.newExperiment();
      const { created, id, files } = await logModelOutsideRun(exp, 'reg');
      const run = await m.newRun(exp);
      ok(
        await m.logBatch(run.info.run_id, {
          metrics: [{ key: 'f1', value: 0.8, timestamp: Date.now(), step: 0, model_id: id }],
        }),
        z.strictObject({}),
      );

      const name = uniq('RunlessModel');
      ok(await m.client.post('registered-models/create', { name }), z.object({}));
      const v = ok(
        await m.client.post('model-versions/create', { name, source: `models:/${id}`, model_id: id }),
        versionReply,
      ).model_version;
      expect(v).toMatchObject({ name, version: '1', source: `models:/${id}`, model_id: id });
      expect(v.run_id).toBeUndefined();
      // Through the artifact URI too, as older clients send it.
      const v2 = ok(
        await m.client.post('model-versions/create', { name, source: created.info.artifact_uri }),
        versionReply,
      ).model_version;
      expect(v2).toMatchObject({ version: '2', model_id: id });

      // Sextant's own view: the model's files by hash, its params and latest metrics.
      const native = modelVersionSchema.parse(
        (await m.app().inject({ method: 'GET', url: `/api/v1/models/${name}/versions/1` })).json(),
      );
      expect(native.runId).toBeNull();
      expect(native.params).toEqual({ C: '1.0' });
      expect(native.metrics).toEqual({ f1: 0.8 });
      expect(native.files.map((f) => f.path).sort()).toEqual(Object.keys(files).sort());
      const pklSha = createHash('sha256').update(files['model.pkl']!).digest('hex');
      expect(native.files.find((f) => f.path === 'model.pkl')?.sha256).toBe(pklSha);

      expect(
        ok(await send('GET', `logged-models/${id}`), modelReply).model.info.registrations.sort((x, y) =>
          x.version.localeCompare(y.version),
        ),
      ).toEqual([
        { name, version: '1' },
        { name, version: '2' },
      ]);

      // mlflow.artifacts.download_artifacts("models:/<name>/1"): get-download-uri, list, download.
      const uri = ok(
        await m.client.get('model-versions/get-download-uri', { name, version: '1' }),
        z.strictObject({ artifact_uri: z.string() }),
      ).artifact_uri;
      expect(uri).toBe(created.info.artifact_uri);
      const listed = ok(
        await m.app().inject({ method: 'GET', url: `${PROXY}?path=${proxyPath(uri)}` }),
        listing,
      );
      expect(listed.files.map((f) => f.path)).toEqual(['metadata', 'MLmodel', 'model.pkl']);
      for (const file of Object.keys(files)) {
        const got = await m.app().inject({ method: 'GET', url: `${PROXY}/${proxyPath(uri, file)}` });
        expect(got.rawPayload.equals(files[file]!), file).toBe(true);
      }
    });

    it('bad input: a PENDING or empty run-less model is not registered; a run id with it is refused; wrong experiment is 404', async () => {
      const exp = await m.newExperiment();
      const name = uniq('Refused');
      ok(await m.client.post('registered-models/create', { name }), z.object({}));
      const pending = ok(await send('POST', 'logged-models', { experiment_id: exp }), modelReply).model.info
        .model_id;
      expect(
        mlflowError(
          await m.client.post('model-versions/create', { name, source: `models:/${pending}` }),
          400,
          'INVALID_PARAMETER_VALUE',
        ),
      ).toMatch(/PENDING/);
      ok(await send('PATCH', `logged-models/${pending}`, { status: 'LOGGED_MODEL_READY' }), modelReply);
      expect(
        mlflowError(
          await m.client.post('model-versions/create', { name, source: `models:/${pending}` }),
          400,
          'INVALID_PARAMETER_VALUE',
        ),
      ).toMatch(/no files/);
      const run = await m.newRun(exp);
      expect(
        mlflowError(
          await m.client.post('model-versions/create', {
            name,
            source: `models:/${pending}`,
            run_id: run.info.run_id,
          }),
          400,
          'INVALID_PARAMETER_VALUE',
        ),
      ).toMatch(/^run_id: /);
      const other = await m.newExperiment();
      mlflowError(
        await m
          .app()
          .inject({ method: 'PUT', url: `${PROXY}/${other}/models/${pending}/artifacts/x`, payload: 'x' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
      );
      expect(
        mlflowError(
          await m.app().inject({
            method: 'POST',
            url: `/api/2.0/mlflow-artifacts/mpu/create/${exp}/models/${pending}/artifacts/big.bin`,
            payload: { path: 'big.bin', num_parts: 2 },
          }),
          400,
          'INVALID_PARAMETER_VALUE',
        ),
      ).toMatch(/one PUT each/);
      // Nothing was registered.
      const versions = ok(
        await m.client.get('model-versions/search', { filter: `name='${name}'` }),
        z.object({ model_versions: z.array(z.unknown()).default([]) }),
      );
      expect(versions.model_versions).toEqual([]);
    });
  },
);
