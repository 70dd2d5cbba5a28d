import { expect, it } from 'vitest';
import { z } from 'zod';
import { describeEachBackend } from '../support/backends.js';
import { MLFLOW, mlflowError, ok, uniq, useMlflowApp } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

const kv = z.strictObject({ key: z.string(), value: z.string() });
const modelVersion = z.strictObject({
  name: z.string(),
  version: z.string(),
  creation_timestamp: z.number().int(),
  last_updated_timestamp: z.number().int(),
  user_id: z.string(),
  current_stage: z.enum(['None', 'Staging', 'Production', 'Archived']),
  description: z.string(),
  source: z.string(),
  run_id: z.string().optional(),
  status: z.literal('READY'),
  tags: z.array(kv),
  aliases: z.array(z.string()),
});
const registeredModel = z.strictObject({
  name: z.string(),
  creation_timestamp: z.number().int(),
  last_updated_timestamp: z.number().int(),
  user_id: z.string(),
  description: z.string(),
  latest_versions: z.array(modelVersion),
  tags: z.array(kv),
  aliases: z.array(z.strictObject({ alias: z.string(), version: z.string() })),
});
const modelReply = z.strictObject({ registered_model: registeredModel });
const versionReply = z.strictObject({ model_version: modelVersion });

describeEachBackend("MLflow's model registry API over Sextant's registry", (getStore) => {
  const m = useMlflowApp(getStore);
  const send = (method: 'PATCH' | 'DELETE', path: string, payload: object) =>
    m.app().inject({ method, url: `${MLFLOW}/${path}`, payload });

  async function runWithModel() {
    const run = await m.newRun(await m.newExperiment());
    const res = await m.app().inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/artifacts/${run.info.experiment_id}/${run.info.run_id}/artifacts/model/model.onnx`,
      payload: Buffer.from(tinyOnnxModel()),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.statusCode, res.body).toBe(200);
    return run.info;
  }

  it('registered-models: create, duplicate and normalised twins refused, get, rename, update, tags, search', async () => {
    const name = uniq('MlflowModel');
    const created = ok(
      await m.client.post('registered-models/create', { name, description: 'first' }),
      modelReply,
    );
    expect(created.registered_model).toMatchObject({ name, description: 'first', latest_versions: [] });
    mlflowError(await m.client.post('registered-models/create', { name }), 400, 'RESOURCE_ALREADY_EXISTS');
    mlflowError(
      await m.client.post('registered-models/create', { name: name.toLowerCase() }),
      400,
      'RESOURCE_ALREADY_EXISTS',
    );
    mlflowError(
      await m.client.get('registered-models/get', { name: uniq('nope') }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );

    ok(
      await m.client.post('registered-models/set-tag', { name, key: 'team', value: 'risk' }),
      z.strictObject({}),
    );
    ok(await send('PATCH', 'registered-models/update', { name, description: 'second' }), modelReply);
    const renamed = `${name}-v2`;
    ok(await m.client.post('registered-models/rename', { name, new_name: renamed }), modelReply);
    const got = ok(
      await m.client.get('registered-models/get', { name: renamed }),
      modelReply,
    ).registered_model;
    expect(got).toMatchObject({
      name: renamed,
      description: 'second',
      tags: [{ key: 'team', value: 'risk' }],
    });
    const search = ok(
      await m.client.get('registered-models/search', { filter: `name LIKE '${renamed.slice(0, 12)}%'` }),
      z.strictObject({ registered_models: z.array(registeredModel), next_page_token: z.string().optional() }),
    );
    expect(search.registered_models.map((x) => x.name)).toContain(renamed);
    mlflowError(
      await m.client.get('registered-models/search', { filter: 'tags.x = 1' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
  });

  it('model-versions: create from a run artifact URI and from runs:/, get, search, download URI, latest per stage', async () => {
    const name = uniq('mv');
    ok(await m.client.post('registered-models/create', { name }), modelReply);
    const run = await runWithModel();
    const v1 = ok(
      await m.client.post('model-versions/create', {
        name,
        source: `${run.artifact_uri}/model`,
        run_id: run.run_id,
      }),
      versionReply,
    ).model_version;
    expect(v1).toMatchObject({
      name,
      version: '1',
      run_id: run.run_id,
      current_stage: 'None',
      status: 'READY',
    });
    const v2 = ok(
      await m.client.post('model-versions/create', { name, source: `runs:/${run.run_id}/model` }),
      versionReply,
    );
    expect(v2.model_version.version).toBe('2');
    mlflowError(
      await m.client.post('model-versions/create', {
        name: uniq('absent'),
        source: `runs:/${run.run_id}/model`,
      }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    mlflowError(
      await m.client.post('model-versions/create', { name, source: 's3://bucket/elsewhere' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );

    const got = ok(await m.client.get('model-versions/get', { name, version: '2' }), versionReply);
    expect(got.model_version.source).toBe(`runs:/${run.run_id}/model`);
    mlflowError(
      await m.client.get('model-versions/get', { name, version: '7' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    mlflowError(
      await m.client.get('model-versions/get', { name, version: 'two' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    const found = ok(
      await m.client.get('model-versions/search', { filter: `run_id = '${run.run_id}'` }),
      z.strictObject({ model_versions: z.array(modelVersion), next_page_token: z.string().optional() }),
    );
    expect(found.model_versions.map((v) => v.version).sort()).toEqual(['1', '2']);
    const uri = ok(
      await m.client.get('model-versions/get-download-uri', { name, version: '1' }),
      z.strictObject({ artifact_uri: z.string() }),
    );
    expect(uri.artifact_uri).toBe(`${run.artifact_uri}/model`);

    ok(
      await send('PATCH', 'model-versions/update', { name, version: '1', description: 'baseline' }),
      versionReply,
    );
    ok(
      await m.client.post('model-versions/set-tag', { name, version: '1', key: 'validated', value: 'yes' }),
      z.strictObject({}),
    );
    const latest = ok(
      await m.client.post('registered-models/get-latest-versions', { name }),
      z.strictObject({ model_versions: z.array(modelVersion) }),
    );
    expect(latest.model_versions.map((v) => [v.version, v.current_stage])).toEqual([['2', 'None']]);
  });

  it('aliases and stages: challenger/Staging move directly, champion/Production needs a promotion request', async () => {
    const name = uniq('stages');
    ok(await m.client.post('registered-models/create', { name }), modelReply);
    const run = await runWithModel();
    for (let i = 0; i < 2; i++)
      ok(
        await m.client.post('model-versions/create', { name, source: `runs:/${run.run_id}/model` }),
        versionReply,
      );

    ok(
      await m.client.post('registered-models/alias', { name, alias: 'shadow', version: '1' }),
      z.strictObject({}),
    );
    const byAlias = ok(
      await m.client.get('registered-models/alias', { name, alias: 'shadow' }),
      versionReply,
    );
    expect(byAlias.model_version).toMatchObject({ version: '1', aliases: ['shadow'] });
    const denied = mlflowError(
      await m.client.post('registered-models/alias', { name, alias: 'champion', version: '1' }),
      403,
      'PERMISSION_DENIED',
    );
    expect(denied).toMatch(/protected/);
    mlflowError(
      await m.client.get('registered-models/alias', { name, alias: 'nothing' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );

    const staged = ok(
      await m.client.post('model-versions/transition-stage', {
        name,
        version: '2',
        stage: 'staging',
        archive_existing_versions: false,
      }),
      versionReply,
    );
    expect(staged.model_version).toMatchObject({ current_stage: 'Staging', aliases: ['challenger'] });
    const prod = mlflowError(
      await m.client.post('model-versions/transition-stage', { name, version: '2', stage: 'Production' }),
      403,
      'PERMISSION_DENIED',
    );
    expect(prod).toMatch(/promotion request/);
    const model = ok(await m.client.get('registered-models/get', { name }), modelReply).registered_model;
    expect(model.aliases).toEqual([
      { alias: 'challenger', version: '2' },
      { alias: 'shadow', version: '1' },
    ]);
    const archived = ok(
      await m.client.post('model-versions/transition-stage', { name, version: '2', stage: 'Archived' }),
      versionReply,
    );
    expect(archived.model_version.current_stage).toBe('None');

    mlflowError(
      await send('DELETE', 'model-versions/delete', { name, version: '1' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    ok(await send('DELETE', 'registered-models/alias', { name, alias: 'shadow' }), z.strictObject({}));
    ok(await send('DELETE', 'model-versions/delete', { name, version: '1' }), z.strictObject({}));
    mlflowError(
      await m.client.get('model-versions/get', { name, version: '1' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    ok(await send('DELETE', 'registered-models/delete', { name }), z.strictObject({}));
    mlflowError(await m.client.get('registered-models/get', { name }), 404, 'RESOURCE_DOES_NOT_EXIST');
    ok(await m.client.post('registered-models/create', { name }), modelReply);
  });
});
