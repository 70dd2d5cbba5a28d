import { expect, it } from 'vitest';
import { z } from 'zod';
import { describeEachBackend } from '../support/backends.js';
import {
  empty,
  experimentsPageSchema,
  historySchema,
  kv,
  mlflowError,
  mlflowExperimentSchema,
  mlflowRunInfoSchema,
  ok,
  runsPageSchema,
  uniq,
  useMlflowApp,
} from './helpers.js';

/*
 * Replays what MLflow's Python client (2.x) sends over HTTP in a typical session: int64 fields as
 * JSON strings (protobuf JSON), doubles as "NaN"/"Infinity", run_uuid next to run_id, GET fields in
 * the query string. Every reply is parsed with the contract of MLflow's wire shapes.
 */
const GIT_SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

describeEachBackend('an MLflow 2.x client session', (getStore) => {
  const { client: c, newExperiment, newRun, getRun, logBatch } = useMlflowApp(getStore);

  it('looks an experiment up by name: RESOURCE_DOES_NOT_EXIST until it is created', async () => {
    const name = uniq('mnist');
    const missing = await c.get('experiments/get-by-name', { experiment_name: name });
    expect(mlflowError(missing, 404, 'RESOURCE_DOES_NOT_EXIST')).toContain(name);
    const id = await newExperiment(name);
    const found = ok(
      await c.get('experiments/get-by-name', { experiment_name: name }),
      z.object({ experiment: mlflowExperimentSchema }),
    );
    expect(found.experiment).toMatchObject({
      experiment_id: id,
      name,
      lifecycle_stage: 'active',
      artifact_location: `mlflow-artifacts:/${id}`,
    });
    mlflowError(await c.post('experiments/create', { name }), 400, 'RESOURCE_ALREADY_EXISTS');
  });

  it('starts a run as mlflow.start_run() does: source tags, run_name and start_time as an int64 string', async () => {
    const exp = await newExperiment();
    const run = await newRun(exp, {
      user_id: 'alice',
      run_name: 'baseline',
      start_time: '1700000000000',
      tags: [
        { key: 'mlflow.user', value: 'alice' },
        { key: 'mlflow.source.name', value: 'train.py' },
        { key: 'mlflow.source.type', value: 'LOCAL' },
        { key: 'mlflow.source.git.commit', value: GIT_SHA },
      ],
    });
    expect(run.info).toEqual({
      run_id: run.info.run_id,
      run_uuid: run.info.run_id,
      run_name: 'baseline',
      experiment_id: exp,
      // The author of record is the caller (auth off: 'local'); the client's claim stays a tag.
      user_id: 'local',
      status: 'RUNNING',
      start_time: 1_700_000_000_000,
      artifact_uri: `mlflow-artifacts:/${exp}/${run.info.run_id}/artifacts`,
      lifecycle_stage: 'active',
    });
    expect(kv(run.data.tags)).toMatchObject({
      'mlflow.user': 'alice',
      'sextant.claimed.user_id': 'alice',
      'mlflow.source.name': 'train.py',
      'mlflow.source.git.commit': GIT_SHA,
    });
  });

  it('logs a whole training session and runs/get returns exactly what was logged', async () => {
    const exp = await newExperiment();
    const { info } = await newRun(exp, { run_name: 'session' });
    const runId = info.run_id;
    const batch = await logBatch(runId, {
      metrics: [
        { key: 'loss', value: 0.9, timestamp: '1700000000001', step: '0' },
        { key: 'loss', value: 'NaN', timestamp: '1700000000002', step: '1' },
        { key: 'grad_norm', value: 'Infinity', timestamp: '1700000000003', step: '0' },
        { key: 'floor', value: '-Infinity', timestamp: '1700000000003', step: '0' },
      ],
      params: [
        { key: 'lr', value: '0.01' },
        { key: 'optimizer', value: 'adam' },
      ],
      tags: [{ key: 'stage', value: 'dev' }],
    });
    ok(batch, empty);
    ok(
      await c.post('runs/log-parameter', { run_id: runId, run_uuid: runId, key: 'epochs', value: '10' }),
      empty,
    );
    ok(await c.post('runs/set-tag', { run_id: runId, run_uuid: runId, key: 'team', value: 'vision' }), empty);
    ok(
      await c.post('runs/log-metric', {
        run_id: runId,
        run_uuid: runId,
        key: 'acc',
        value: 0.93,
        timestamp: '1700000000010',
        step: '3',
      }),
      empty,
    );
    const updated = await c.post('runs/update', {
      run_id: runId,
      run_uuid: runId,
      status: 'FINISHED',
      end_time: '1700000009999',
    });
    expect(ok(updated, z.strictObject({ run_info: mlflowRunInfoSchema })).run_info).toMatchObject({
      status: 'FINISHED',
      end_time: 1_700_000_009_999,
    });

    const run = await getRun(runId);
    expect(run.info).toMatchObject({
      run_id: runId,
      run_uuid: runId,
      run_name: 'session',
      experiment_id: exp,
      user_id: 'local',
      status: 'FINISHED',
    });
    expect(run.info.end_time).toBe(1_700_000_009_999);
    expect(run.info.artifact_uri).toBe(`mlflow-artifacts:/${exp}/${runId}/artifacts`);
    const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m]));
    expect(metrics).toEqual({
      loss: { key: 'loss', value: 'NaN', timestamp: 1_700_000_000_002, step: 1 },
      grad_norm: { key: 'grad_norm', value: 'Infinity', timestamp: 1_700_000_000_003, step: 0 },
      floor: { key: 'floor', value: '-Infinity', timestamp: 1_700_000_000_003, step: 0 },
      acc: { key: 'acc', value: 0.93, timestamp: 1_700_000_000_010, step: 3 },
    });
    expect(kv(run.data.params)).toEqual({ lr: '0.01', optimizer: 'adam', epochs: '10' });
    expect(kv(run.data.tags)).toMatchObject({ stage: 'dev', team: 'vision', 'mlflow.runName': 'session' });
  });

  it('metrics/get-history returns the whole history in step order, and pages with max_results', async () => {
    const { info } = await newRun(await newExperiment());
    const steps = Array.from({ length: 25 }, (_, i) => i).sort(() => Math.random() - 0.5);
    ok(
      await logBatch(info.run_id, {
        metrics: steps.map((s) => ({
          key: 'loss',
          value: 1 / (s + 1),
          timestamp: String(1000 + s),
          step: String(s),
        })),
      }),
      empty,
    );
    const all = ok(
      await c.get('metrics/get-history', { run_id: info.run_id, run_uuid: info.run_id, metric_key: 'loss' }),
      historySchema,
    );
    expect(all.metrics.map((m) => m.step)).toEqual([...Array(25).keys()]);
    expect(all.next_page_token).toBeUndefined();
    const paged: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = ok(
        await c.get('metrics/get-history', {
          run_id: info.run_id,
          metric_key: 'loss',
          max_results: 10,
          page_token: token,
        }),
        historySchema,
      );
      paged.push(...page.metrics.map((m) => m.step));
      token = page.next_page_token;
      pages += 1;
    } while (token);
    expect(pages).toBe(3);
    expect(paged).toEqual([...Array(25).keys()]);
  });

  it('runs/search filters on metrics and params, orders by a metric, pages and honours run_view_type', async () => {
    const exp = await newExperiment();
    const ids: Record<string, string> = {};
    for (const [name, acc, lr] of [
      ['a', 0.95, '0.01'],
      ['b', 0.85, '0.01'],
      ['c', 0.97, '0.1'],
      ['d', 0.92, '0.01'],
      ['e', 0.99, '0.01'],
    ] as const) {
      const { info } = await newRun(exp, { run_name: name });
      ids[name] = info.run_id;
      ok(
        await logBatch(info.run_id, {
          metrics: [{ key: 'acc', value: acc, timestamp: '1', step: '0' }],
          params: [{ key: 'lr', value: lr }],
        }),
        empty,
      );
    }
    const search = async (body: Record<string, unknown>) =>
      ok(await c.post('runs/search', { experiment_ids: [exp], ...body }), runsPageSchema);
    const names = (p: { runs: { info: { run_name: string } }[] }) => p.runs.map((r) => r.info.run_name);
    const query = { filter: "metrics.acc > 0.9 and params.lr = '0.01'", order_by: ['metrics.acc DESC'] };
    expect(names(await search(query))).toEqual(['e', 'a', 'd']);

    const first = await search({ ...query, max_results: 2 });
    expect(names(first)).toEqual(['e', 'a']);
    expect(first.next_page_token).toBeTruthy();
    const second = await search({ ...query, max_results: 2, page_token: first.next_page_token });
    expect(names(second)).toEqual(['d']);
    expect(second.next_page_token).toBeUndefined();

    ok(await c.post('runs/delete', { run_id: ids.a }), empty);
    expect(names(await search(query))).toEqual(['e', 'd']);
    expect(names(await search({ ...query, run_view_type: 'DELETED_ONLY' }))).toEqual(['a']);
    expect(names(await search({ ...query, run_view_type: 'ALL' }))).toEqual(['e', 'a', 'd']);
    ok(await c.post('runs/restore', { run_id: ids.a }), empty);
    expect(names(await search(query))).toEqual(['e', 'a', 'd']);
    expect((await getRun(ids.a!)).info.lifecycle_stage).toBe('active');
  });

  it('experiments/search filters by name LIKE, honours view_type and pages', async () => {
    const prefix = uniq('sweep');
    const ids = [];
    for (const i of [1, 2, 3]) ids.push(await newExperiment(`${prefix}-${i}`));
    ok(await c.post('experiments/delete', { experiment_id: ids[2] }), empty);
    const search = async (body: Record<string, unknown>) =>
      ok(await c.post('experiments/search', body), experimentsPageSchema);
    const names = (p: z.infer<typeof experimentsPageSchema>) => p.experiments.map((e) => e.name).sort();
    const filter = `name LIKE '${prefix}-%'`;
    expect(names(await search({ filter }))).toEqual([`${prefix}-1`, `${prefix}-2`]);
    expect(names(await search({ filter, view_type: 'DELETED_ONLY' }))).toEqual([`${prefix}-3`]);
    expect(names(await search({ filter, view_type: 'ALL' }))).toEqual([1, 2, 3].map((i) => `${prefix}-${i}`));
    const first = await search({ filter, view_type: 'ALL', max_results: 2, order_by: ['name ASC'] });
    expect(first.experiments.map((e) => e.name)).toEqual([`${prefix}-1`, `${prefix}-2`]);
    const second = await search({
      filter,
      view_type: 'ALL',
      max_results: 2,
      order_by: ['name ASC'],
      page_token: first.next_page_token,
    });
    expect(second.experiments.map((e) => e.name)).toEqual([`${prefix}-3`]);
    expect(second.next_page_token).toBeUndefined();
  });

  it('renames, tags, deletes and restores an experiment; its runs are deleted and restored with it', async () => {
    const exp = await newExperiment();
    const runs = [await newRun(exp), await newRun(exp)];
    const newName = uniq('renamed');
    ok(await c.post('experiments/update', { experiment_id: exp, new_name: newName }), empty);
    ok(
      await c.post('experiments/set-experiment-tag', { experiment_id: exp, key: 'owner', value: 'ml-team' }),
      empty,
    );
    ok(
      await c.post('experiments/set-experiment-tag', { experiment_id: exp, key: 'temp', value: 'x' }),
      empty,
    );
    ok(await c.post('experiments/delete-experiment-tag', { experiment_id: exp, key: 'temp' }), empty);
    const got = ok(
      await c.get('experiments/get', { experiment_id: exp }),
      z.object({ experiment: mlflowExperimentSchema }),
    ).experiment;
    expect(got.name).toBe(newName);
    expect(kv(got.tags)).toEqual({ owner: 'ml-team' });

    ok(await c.post('experiments/delete', { experiment_id: exp }), empty);
    for (const r of runs) expect((await getRun(r.info.run_id)).info.lifecycle_stage).toBe('deleted');
    mlflowError(await c.post('runs/create', { experiment_id: exp }), 400, 'INVALID_PARAMETER_VALUE');
    ok(await c.post('experiments/restore', { experiment_id: exp }), empty);
    for (const r of runs) expect((await getRun(r.info.run_id)).info.lifecycle_stage).toBe('active');
  });

  it('delete-tag removes a run tag; a deleted run refuses new data until restored', async () => {
    const { info } = await newRun(await newExperiment());
    ok(await c.post('runs/set-tag', { run_id: info.run_id, key: 'note', value: 'tmp' }), empty);
    ok(await c.post('runs/delete-tag', { run_id: info.run_id, key: 'note' }), empty);
    expect(kv((await getRun(info.run_id)).data.tags)).not.toHaveProperty('note');
    mlflowError(
      await c.post('runs/delete-tag', { run_id: info.run_id, key: 'note' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    );
    ok(await c.post('runs/delete', { run_id: info.run_id }), empty);
    mlflowError(
      await c.post('runs/log-parameter', { run_id: info.run_id, key: 'k', value: 'v' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    ok(await c.post('runs/restore', { run_id: info.run_id }), empty);
    ok(await c.post('runs/log-parameter', { run_id: info.run_id, key: 'k', value: 'v' }), empty);
  });

  it('log-inputs records datasets under inputs.dataset_inputs; log-model appends to mlflow.log-model.history', async () => {
    const { info } = await newRun(await newExperiment());
    const dataset = {
      name: 'iris',
      digest: 'd41d8cd9',
      source_type: 'local',
      source: '{"uri": "data/iris.csv"}',
      schema: '{"mlflow_colspec": []}',
    };
    ok(
      await c.post('runs/log-inputs', {
        run_id: info.run_id,
        datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'train' }], dataset }],
      }),
      empty,
    );
    const models = [1, 2].map((i) => ({
      artifact_path: `model${i}`,
      flavors: { sklearn: {} },
      run_id: info.run_id,
    }));
    for (const m of models)
      ok(await c.post('runs/log-model', { run_id: info.run_id, model_json: JSON.stringify(m) }), empty);
    const run = await getRun(info.run_id);
    expect(run.inputs.dataset_inputs).toEqual([
      { tags: [{ key: 'mlflow.data.context', value: 'train' }], dataset },
    ]);
    expect(JSON.parse(kv(run.data.tags)['mlflow.log-model.history'] ?? '[]')).toEqual(models);
  });
});
