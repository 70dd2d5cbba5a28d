import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { seededRandom } from '../../src/core/random.js';
import { predictionTraceSchema } from '../../src/governance/trace/trace.schema.js';
import { buildApp } from '../../src/server/app.js';
import { foreignLogisticOnnx, foreignLogisticScore } from '../fixtures/foreign-onnx.js';
import { cli } from '../support/cli.js';
import { uniq } from './helpers.js';

/*
 * Issue 18 item 2: a model converted by skl2onnx (one float tensor 'X' [None, 6]; outputs 'label' and
 * 'probabilities') is evaluated, batch-scored, served, explained against a dataset's rows, monitored
 * (CBPE scores the reference dataset through it) and traced, through the real CLI (in-process and
 * against a server). Its columns are named by the dataset in order, by `--features` at registration,
 * or by `--features` on the command; a width that does not match is named.
 */

const WEIGHTS = [1.5, -2, 0.75, 0, 1, -0.5];
const BIAS = 0.2;
const COLUMNS = ['a', 'b', 'c', 'd', 'e', 'f'];
const ROWS = 300;

interface Data {
  x: number[][];
  labels: number[];
}

/** Rows whose labels the model predicts well (drawn from its own probabilities, seeded). */
function makeData(seed: number): Data {
  const random = seededRandom(seed);
  const x: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < ROWS; i++) {
    const row = COLUMNS.map(() => Math.round((random() * 4 - 2) * 1000) / 1000);
    x.push(row);
    labels.push(random() < foreignLogisticScore(WEIGHTS, BIAS, row) ? 1 : 0);
  }
  return { x, labels };
}

function writeCsv(file: string, header: string[], rows: (number | string)[][]): void {
  fs.writeFileSync(file, `${[header.join(','), ...rows.map((r) => r.join(','))].join('\n')}\n`);
}

const json = <T>(r: { code: number; out: string; err: string }): T => {
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as T;
};

describe('a foreign single-tensor ONNX model, everywhere', () => {
  let home: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let local: Record<string, string>;
  let remote: Record<string, string>;
  const data = makeData(7);
  const model = uniq('sk');
  const dataset = uniq('applicants');
  const wide = uniq('wide');
  const deployment = uniq('sk-api');
  let predictionIds: string[] = [];

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-foreign-'));
    local = { SEXTANT_HOME: home };
    ws = await openWorkspace(loadConfig(local));
    app = await buildApp(ws);
    remote = { SEXTANT_HOME: home, SEXTANT_URL: await app.listen({ host: '127.0.0.1', port: 0 }) };
    const onnx = path.join(home, 'model.onnx');
    fs.writeFileSync(onnx, foreignLogisticOnnx({ weights: WEIGHTS, bias: BIAS }));
    fs.writeFileSync(
      path.join(home, 'zipmap.onnx'),
      foreignLogisticOnnx({ weights: WEIGHTS, bias: BIAS, zipmap: true }),
    );
    const csv = path.join(home, 'applicants.csv');
    writeCsv(
      csv,
      [...COLUMNS, 'label'],
      data.x.map((r, i) => [...r, data.labels[i]!]),
    );
    // The same rows with one more column and the columns in another order.
    const shuffled = ['f', 'e', 'd', 'c', 'b', 'a'];
    writeCsv(
      path.join(home, 'wide.csv'),
      ['id', ...shuffled, 'label'],
      data.x.map((r, i) => [i, ...shuffled.map((c) => r[COLUMNS.indexOf(c)]!), data.labels[i]!]),
    );
    for (const [file, name] of [
      [csv, dataset],
      [path.join(home, 'wide.csv'), wide],
    ] as const) {
      const added = await cli(local, 'data', 'add', file, '--dataset', name);
      expect(added.code, added.err).toBe(0);
    }
    // v1: registered as it came, its columns unnamed; v2: named at registration.
    expect((await cli(local, 'models', 'register', model, '--file', onnx)).code).toBe(0);
    const named = await cli(
      remote,
      'models',
      'register',
      model,
      '--file',
      onnx,
      '--features',
      COLUMNS.join(','),
    );
    expect(named.code, named.err).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await ws?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('evaluate: the dataset columns in order feed the tensor; the metrics are those of its probabilities', async () => {
    type Outcome = { rows: number; task: string; metrics: Record<string, number> };
    const r = json<Outcome>(
      await cli(local, '--json', 'evaluate', `${model}@1`, '--dataset', `${dataset}@1`, '--target', 'label'),
    );
    expect(r.rows).toBe(ROWS);
    expect(r.task).toBe('classification');
    // Accuracy from P(1) > 0.5 of the same formula: the probabilities column was read, not the label.
    const expected =
      data.x.filter((x, i) => (foreignLogisticScore(WEIGHTS, BIAS, x) >= 0.5 ? 1 : 0) === data.labels[i])
        .length / ROWS;
    expect(r.metrics.accuracy).toBeCloseTo(expected, 6);
    expect(r.metrics.roc_auc).toBeGreaterThan(0.75);
    // The named version reads the columns by name, in any order, with extra columns around (and over HTTP).
    const named = json<Outcome>(
      await cli(remote, '--json', 'evaluate', `${model}@2`, '--dataset', `${wide}@1`, '--target', 'label'),
    );
    expect(named.metrics.accuracy).toBeCloseTo(expected, 6);
    // An explicit mapping for the unnamed version on the wide dataset.
    const mapped = json<Outcome>(
      await cli(
        local,
        '--json',
        'evaluate',
        `${model}@1`,
        '--dataset',
        `${wide}@1`,
        '--target',
        'label',
        '--features',
        COLUMNS.join(','),
      ),
    );
    expect(mapped.metrics.accuracy).toBeCloseTo(expected, 6);
  });

  it('evaluate names a width mismatch, a bad --features mapping and a ZipMap output', async () => {
    const mismatch = await cli(
      local,
      'evaluate',
      `${model}@1`,
      '--dataset',
      `${wide}@1`,
      '--target',
      'label',
    );
    expect(mismatch.code).toBe(2);
    expect(mismatch.err).toContain(`${model}@1 takes 6 columns at once`);
    expect(mismatch.err).toContain(`${wide}@1 has 7 feature columns`);
    const short = await cli(
      local,
      'evaluate',
      `${model}@1`,
      '--dataset',
      `${wide}@1`,
      '--target',
      'label',
      '--features',
      'a,b,c',
    );
    expect(short.code).toBe(2);
    expect(short.err).toMatch(/--features names 3 columns, but .*@1 takes 6 features/);
    const unknown = await cli(
      local,
      'evaluate',
      `${model}@1`,
      '--dataset',
      `${wide}@1`,
      '--target',
      'label',
      '--features',
      'a,b,c,d,e,zz',
    );
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("has no column 'zz'");
    const badReg = await cli(
      local,
      'models',
      'register',
      model,
      '--file',
      path.join(home, 'model.onnx'),
      '--features',
      'a,b',
    );
    expect(badReg.code).toBe(2);
    expect(badReg.err).toContain("2 names given, but input 'X' of model.onnx takes 6 columns");

    expect(
      (await cli(local, 'models', 'register', model, '--file', path.join(home, 'zipmap.onnx'))).code,
    ).toBe(0);
    const zipmap = await cli(
      local,
      'evaluate',
      `${model}@3`,
      '--dataset',
      `${dataset}@1`,
      '--target',
      'label',
    );
    expect(zipmap.code).toBe(2);
    expect(zipmap.err).toMatch(/output 'probabilities' is a sequence of maps .*zipmap.*False/);
  });

  it('predict --dataset scores the rows through the serving code (columns in order, or named)', async () => {
    type Outcome = { input: { rows: number }; output: { ref: string } };
    const r = json<Outcome>(await cli(local, '--json', 'predict', `${model}@2`, '--dataset', `${wide}@1`));
    expect(r.input.rows).toBe(ROWS);
    const unnamed = await cli(local, 'predict', `${model}@1`, '--dataset', `${wide}@1`);
    expect(unnamed.code).toBe(2);
    expect(unnamed.err).toContain('takes 6 columns at once');
    const mapped = json<Outcome>(
      await cli(
        remote,
        '--json',
        'predict',
        `${model}@1`,
        '--dataset',
        `${wide}@1`,
        '--features',
        COLUMNS.join(','),
      ),
    );
    expect(mapped.input.rows).toBe(ROWS);
  });

  it('serves, explains against a dataset version (--background), traces and monitors a served prediction', async () => {
    expect((await cli(local, 'deployments', 'create', deployment, '--model', `${model}@2`)).code).toBe(0);
    const rt = await ws.serving.openRuntime({ actor: 'local', deployment });
    try {
      const records = data.x.slice(0, 200).map((x) => Object.fromEntries(COLUMNS.map((c, j) => [c, x[j]!])));
      const { items } = await rt.predict({ dataframe_records: records });
      predictionIds = items.map((i) => i.prediction_id);
      // skl2onnx's int64 label is the prediction; P(1) the score.
      expect(items[0]!.prediction).toBe(foreignLogisticScore(WEIGHTS, BIAS, data.x[0]!) >= 0.5 ? 1 : 0);
    } finally {
      await rt.close();
    }
    const id = predictionIds[0]!;

    // Without training data on record, it says how to pass a background.
    const none = await cli(local, 'explain', id);
    expect(none.code).toBe(2);
    expect(none.err).toContain('--background <dataset>@<v>');
    type Explained = {
      explanation: {
        method: string;
        space: string;
        baseValue: number;
        output: number;
        attributions: Record<string, number>;
        backgroundSize: number;
      };
    };
    for (const env of [local, remote]) {
      const e = json<Explained>(
        await cli(env, '--json', 'explain', id, '--background', `${dataset}@1`, '--background-size', '50'),
      ).explanation;
      expect(e).toMatchObject({ method: 'kernel', space: 'probability', backgroundSize: 50 });
      expect(Object.keys(e.attributions)).toEqual(COLUMNS);
      const sum = Object.values(e.attributions).reduce((s, v) => s + v, 0);
      expect(e.baseValue + sum).toBeCloseTo(e.output, 4);
      expect(e.output).toBeCloseTo(foreignLogisticScore(WEIGHTS, BIAS, data.x[0]!), 5);
      // A zero weight gets no attribution.
      expect(Math.abs(e.attributions.d!)).toBeLessThan(1e-6);
    }
    // The API equivalent on predict: ?explain=true&backgroundDataset=<dataset>@<v>.
    const res = await fetch(
      `${remote.SEXTANT_URL}/api/v1/deployments/${deployment}/predict?explain=true&backgroundDataset=${dataset}@1`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          dataframe_records: [Object.fromEntries(COLUMNS.map((c, j) => [c, data.x[1]![j]!]))],
        }),
      },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { predictions: { explanation?: Explained['explanation'] }[] };
    expect(body.predictions[0]!.explanation).toMatchObject({ method: 'kernel', backgroundSize: 100 });
    const badRef = await fetch(
      `${remote.SEXTANT_URL}/api/v1/predictions/${id}/explanation?backgroundDataset=applicants`,
    );
    expect(badRef.status).toBe(400);
    expect(JSON.stringify(await badRef.json())).toContain('backgroundDataset');
    const badBg = await cli(local, 'explain', id, '--background', `${uniq('nope')}@1`);
    expect(badBg.code).toBe(3);

    const trace = predictionTraceSchema.parse(json<unknown>(await cli(remote, '--json', 'trace', id)));
    expect(trace.prediction.inputs).toEqual(Object.fromEntries(COLUMNS.map((c, j) => [c, data.x[0]![j]!])));
    expect(trace.modelVersion).toMatchObject({ ref: `${model}@2`, source: 'file:model.onnx' });
    expect(trace.modelVersion?.signature?.inputs).toEqual([{ name: 'X', type: 'float32' }]);
    expect(trace.run).toBeNull();

    // CBPE calibrated on the reference dataset's rows scored through the model.
    const spec = path.join(home, 'monitor.yaml');
    fs.writeFileSync(
      spec,
      `name: sk-watch\nwindow: 1h\nlabel: { task: classification, positive: 1 }\nestimation: true\nreference: { source: dataset, dataset: ${dataset}@1, target: label }\n`,
    );
    const created = await cli(remote, 'monitors', 'create', deployment, '--file', spec);
    expect(created.code, created.err).toBe(0);
    type RunResult = { points: { metric: string; status: string; details: Record<string, unknown> }[] };
    const [result] = json<RunResult[]>(
      await cli(
        local,
        '--json',
        'monitor',
        'run',
        deployment,
        '--monitor',
        'sk-watch',
        '--from',
        '1h',
        '--to',
        new Date(Date.now() + 60_000).toISOString(),
      ),
    );
    const acc = result!.points.find((p) => p.metric === 'estimate.accuracy');
    expect(acc?.status).not.toBe('insufficient_data');
    expect(acc?.details).toMatchObject({ calibratedOn: 'training' });
    expect(String(acc?.details.reference)).toContain(`${dataset}@1`);
    // Drift compares the named features with the dataset's columns.
    expect(
      result!.points.some((p) => p.metric.startsWith('skew.') && (p as { feature?: string }).feature === 'a'),
    ).toBe(true);
  });

  it('a body of numbers only, in any JSON spacing, is answered and logged as the same body parsed as JSON', async () => {
    const records = data.x.slice(0, 12).map((x) => Object.fromEntries(COLUMNS.map((c, j) => [c, x[j]!])));
    type Item = { prediction_id: string } & Record<string, unknown>;
    const post = async (body: string): Promise<Item[]> => {
      const res = await fetch(`${remote.SEXTANT_URL}/api/v1/deployments/${deployment}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { predictions: Item[] }).predictions;
    };
    const compact = JSON.stringify({ dataframe_records: records });
    const spaced = JSON.stringify({ dataframe_records: records }, null, 2);
    // An empty params beside the records sends the body through JSON.parse (numeric-records.ts reads records alone).
    const viaJson = `${compact.slice(0, -1)},"params":{}}`;
    // pandas' split orient, as MLflow's clients send a DataFrame (index first, as to_dict gives it).
    const split = JSON.stringify({
      dataframe_split: { index: records.map((_, i) => i), columns: COLUMNS, data: data.x.slice(0, 12) },
    });
    const withoutIds = (items: Item[]) => items.map(({ prediction_id: _, ...rest }) => rest);
    const [fast, fastSpaced, fastSplit, parsed] = [
      await post(compact),
      await post(spaced),
      await post(split),
      await post(viaJson),
    ];
    expect(withoutIds(fast)).toEqual(withoutIds(parsed));
    expect(withoutIds(fastSpaced)).toEqual(withoutIds(parsed));
    expect(withoutIds(fastSplit)).toEqual(withoutIds(parsed));
    const splitTrace = predictionTraceSchema.parse(
      json<unknown>(await cli(remote, '--json', 'trace', fastSplit[5]!.prediction_id)),
    );
    expect(splitTrace.prediction.inputs).toEqual(records[5]);
    expect(fast[3]!.prediction).toBe(foreignLogisticScore(WEIGHTS, BIAS, data.x[3]!) >= 0.5 ? 1 : 0);
    // What the log keeps is the record sent, value for value.
    const trace = predictionTraceSchema.parse(
      json<unknown>(await cli(remote, '--json', 'trace', fast[3]!.prediction_id)),
    );
    expect(trace.prediction.inputs).toEqual(records[3]);
  });
});
