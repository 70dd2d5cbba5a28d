import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalDataOnnx, modelVersionFixture, tinyOnnxModel } from '../../../test/e2e/registry-fixtures.js';
import { AppError, UnavailableError, ValidationError } from '../../core/errors.js';
import {
  CREDIT_TARGET,
  creditDataToTable,
  type FittedModel,
  fitModel,
  generateCreditData,
  predictOnnx,
} from '../../ml/index.js';
import { DataType, encodeModel, type NodeMessage, type TensorMessage } from '../../ml/trainers/index.js';
import type { ModelVersion } from '../../registry/index.js';
import { openServingModel, type ServingModel } from './index.js';

/** A registry version around an ONNX file; `declared` is signature.json when it came from a Sextant run. */
function makeVersion(
  declared?: Record<string, unknown>,
  overrides: Partial<ModelVersion> = {},
): ModelVersion {
  return modelVersionFixture({
    signature: { inputs: [], outputs: [], ...(declared ? { declared } : {}) },
    ...overrides,
  });
}

const data = generateCreditData({ rows: 300, seed: 7 });
const table = creditDataToTable(data);
const features = data.columns.map((c) => c.name).filter((n) => n !== CREDIT_TARGET);
const records = data.rows.slice(0, 40).map((r) => Object.fromEntries(features.map((f) => [f, r[f]])));

function train(task: 'classification' | 'regression'): FittedModel {
  return fitModel({
    table,
    target: task === 'classification' ? CREDIT_TARGET : 'income',
    features: task === 'classification' ? features : features.filter((f) => f !== 'income'),
    task,
    kind: task === 'classification' ? 'gbdt' : 'linear',
    params: task === 'classification' ? { n_estimators: 10 } : {},
    seed: 1,
  });
}

async function expectValidation(
  p: Promise<unknown> | (() => unknown),
  field?: string,
): Promise<ValidationError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ValidationError);
  if (field !== undefined) expect((err as ValidationError).details?.field).toBe(field);
  return err as ValidationError;
}

describe('a served Sextant classifier', () => {
  let fitted: FittedModel;
  let model: ServingModel;
  beforeAll(async () => {
    fitted = train('classification');
    model = await openServingModel(fitted.toOnnx(), makeVersion({ ...fitted.signature() }));
  });
  afterAll(() => model.release());

  it('knows its features and kind from the signature', () => {
    expect(model.kind).toBe('records');
    expect(model.features.map((f) => f.name)).toEqual(features);
    expect(model.features.find((f) => f.name === 'sex')?.type).toBe('string');
    expect(model.features.find((f) => f.name === 'age')?.type).toBe('float');
  });

  it('predicts what the trained model predicts through onnxruntime', async () => {
    const expected = await predictOnnx(fitted.toOnnx(), records);
    const scores = await model.score(records);
    expect([...scores]).toEqual([...expected]);
    const out = await model.predict(records);
    // An integer target: the classes are '0' and '1', and predictions are answered as the integers.
    expect(fitted.classes).toEqual(['0', '1']);
    out.forEach((o, i) => {
      expect(o.probabilities?.['1']).toBe(expected[i]);
      expect(o.probabilities?.['0']).toBeCloseTo(1 - expected[i]!, 6);
      expect(o.prediction).toBe(expected[i]! > 0.5 ? 1 : 0);
    });
  });

  it('answers concurrent callers from one run, each with its own rows', async () => {
    const before = model.stats();
    const calls = records.slice(0, 16).map((r) => model.predict([r]));
    const answers = await Promise.all(calls);
    const after = model.stats();
    expect(after.runs - before.runs).toBe(1);
    expect(after.calls - before.calls).toBe(16);
    const expected = await predictOnnx(fitted.toOnnx(), records.slice(0, 16));
    const pos = fitted.classes![1]!;
    answers.forEach((a, i) => {
      expect(a).toHaveLength(1);
      expect(a[0]!.probabilities?.[pos]).toBe(expected[i]);
    });
  });

  it('answers records checked in any form, joined in one run, as it answers each record alone', async () => {
    // Checked requests (nulls as missing values, positional rows), a small one and raw records,
    // all joined in one run.
    const withNulls = records.slice(0, 12).map((r, i) => (i % 5 === 0 ? { ...r, age: null, sex: null } : r));
    const positional = records.slice(12, 22).map((r) => features.map((f) => r[f]));
    const calls = [
      model.parse({ dataframe_records: withNulls }),
      model.parse(positional),
      model.parse({ dataframe_records: records.slice(22, 24) }),
      records.slice(24, 40),
    ];
    const runs = model.stats().runs;
    const joined = (await Promise.all(calls.map((r) => model.predict(r)))).flat();
    expect(model.stats().runs - runs).toBe(1);
    const unchecked = [...withNulls, ...records.slice(12, 40)];
    const alone = await Promise.all(unchecked.map((r) => model.predict([r])));
    expect(joined).toEqual(alone.flat());
    const expected = await predictOnnx(fitted.toOnnx(), records.slice(12, 40));
    expect(joined.slice(12).map((o) => o.probabilities?.['1'])).toEqual([...expected]);
  });

  it('without signature.json it answers raw outputs: the label as prediction, P(positive) as score', async () => {
    const bare = await openServingModel(fitted.toOnnx(), makeVersion());
    try {
      const rows = records.slice(0, 5);
      const out = await bare.predict(rows);
      const expected = await predictOnnx(fitted.toOnnx(), rows);
      out.forEach((o, i) => {
        expect(o.prediction).toBe(fitted.classes![expected[i]! > 0.5 ? 1 : 0]);
        expect(o.outputs?.label).toEqual([o.prediction]);
        expect((o.outputs!.probabilities as number[])[1]).toBe(expected[i]);
      });
      expect([...(await bare.score(rows))]).toEqual([...expected]);
      // No trainer signature: no stated rule for missing values.
      expect(() => bare.parse({ ...rows[0]!, age: null })).toThrow(ValidationError);
    } finally {
      await bare.release();
    }
  });

  it('treats null as a missing value the model imputes', async () => {
    const withNull = { ...records[0]!, income: null, purpose: null };
    const [parsed] = model.parse(withNull);
    const [got] = await model.score([parsed!]);
    const [expected] = await predictOnnx(fitted.toOnnx(), [withNull]);
    expect(got).toBe(expected);
  });
});

describe('a served Sextant regressor', () => {
  it('answers the value of its variable output', async () => {
    const fitted = train('regression');
    const model = await openServingModel(fitted.toOnnx(), makeVersion({ ...fitted.signature() }));
    try {
      const rows = records.map(({ income: _, ...rest }) => rest);
      const expected = await predictOnnx(fitted.toOnnx(), rows);
      const out = await model.predict(model.parse({ dataframe_records: rows }));
      expect(out.map((o) => o.prediction)).toEqual([...expected]);
      expect(out[0]!.probabilities).toBeUndefined();
      expect([...(await model.score(rows))]).toEqual([...expected]);
    } finally {
      await model.release();
    }
  });
});

describe('a float tensor model from elsewhere', () => {
  let model: ServingModel;
  const weights: [number, number, number] = [0.5, -0.25, 1];
  const expect3 = (x: number[]) => 1 / (1 + Math.exp(-(x[0]! * 0.5 - x[1]! * 0.25 + x[2]! + 0.1)));
  beforeAll(async () => {
    model = await openServingModel(tinyOnnxModel(weights, 0.1), makeVersion());
  });
  afterAll(() => model.release());

  it('takes plain arrays of numbers in signature order, and f0..f2 records', async () => {
    expect(model.kind).toBe('tensor');
    expect(model.features).toEqual([
      { name: 'f0', type: 'float' },
      { name: 'f1', type: 'float' },
      { name: 'f2', type: 'float' },
    ]);
    const rows = model.parse([
      [1, 2, 3],
      [0, 0, 0],
    ]);
    expect(rows).toEqual([
      { f0: 1, f1: 2, f2: 3 },
      { f0: 0, f1: 0, f2: 0 },
    ]);
    expect(model.parse({ inputs: { features: [[1, 2, 3]] } })).toEqual([{ f0: 1, f1: 2, f2: 3 }]);
    expect(model.parse([1, 2, 3])).toEqual([{ f0: 1, f1: 2, f2: 3 }]);
    expect(model.parse({ f0: 1, f1: 2, f2: 3 })).toEqual([{ f0: 1, f1: 2, f2: 3 }]);
    const out = await model.predict(rows);
    expect(out[0]!.prediction).toBeCloseTo(expect3([1, 2, 3]), 6);
    expect(out[0]!.outputs).toEqual({ score: [out[0]!.prediction] });
    expect(out[1]!.prediction).toBeCloseTo(expect3([0, 0, 0]), 6);
    const scores = await model.score(rows);
    expect(scores[0]).toBe(out[0]!.prediction);
  });

  it('answers each caller of a joined run on its own rows, whatever form they were sent or checked in', async () => {
    // Checked requests of 8 records or more carry the tensor filled while checking (keyed, positional,
    // in the order of dataframe_split's columns); small ones, raw records and columns do not.
    const many = (k: number) => Array.from({ length: 10 }, (_, i) => [i - k, (i * k) % 3, true]);
    const keyed = many(1).map(([f0, f1, f2]) => ({ f2, f0, f1 }));
    const split = many(2).map(([f0, f1, f2]) => [f2, f0, f1]);
    const rows = many(3);
    const calls = [
      model.parse({ dataframe_records: keyed }),
      model.parse({ dataframe_split: { columns: ['f2', 'f0', 'f1'], data: split } }),
      model.parse(rows),
      model.parse({ dataframe_records: [{ f2: 3, f0: 1, f1: true }] }),
      [{ f0: 4, f1: false, f2: 1 }],
      model.parse({ inputs: { f0: [7], f1: [0], f2: [-2] } }),
    ];
    const expected = [...many(1), ...many(2), ...many(3), [1, true, 3], [4, false, 1], [7, 0, -2]];
    const runs = model.stats().runs;
    const answers = (await Promise.all(calls.map((r) => model.predict(r)))).flat();
    expect(model.stats().runs - runs).toBe(1);
    expect(answers.map((a) => a.prediction)).toEqual(
      expected.map((x) => expect.closeTo(expect3(x.map(Number)), 6)),
    );
  });

  it('a model given records another model checked reads them by its own feature names (a shadow)', async () => {
    // The champion fills its tensor in [a, b, c] order while checking; the shadow's tensor is [c, b, a].
    // Both compute the same function, so the shadow must answer what the champion answers.
    const named = (names: string[]) =>
      makeVersion({ inputs: names.map((name) => ({ name, type: 'float' })) });
    const champion = await openServingModel(tinyOnnxModel([0.5, -0.25, 1], 0.1), named(['a', 'b', 'c']));
    const shadow = await openServingModel(tinyOnnxModel([1, -0.25, 0.5], 0.1), named(['c', 'b', 'a']));
    try {
      const body = Array.from({ length: 10 }, (_, i) => ({ a: i, b: (i * 7) % 5, c: 3 - i }));
      const rows = champion.parse(body);
      const mine = (await champion.predict(rows)).map((o) => o.prediction);
      const theirs = (await shadow.predict(rows)).map((o) => o.prediction);
      expect(theirs).toEqual(mine.map((p) => expect.closeTo(p as number, 6)));
      expect(new Set(theirs).size).toBeGreaterThan(1);
    } finally {
      await Promise.all([champion.release(), shadow.release()]);
    }
  });

  it('refuses rows of the wrong width and nulls (it has no rule for missing values)', async () => {
    await expectValidation(() => model.parse([[1, 2]]), 'records[0]');
    await expectValidation(() => model.parse({ instances: [[1, 2, null]] }), 'instances[0][2]');
  });
});

describe('large calls', () => {
  it('run in chunks of maxBatchRows, and release waits for all of them', async () => {
    const model = await openServingModel(tinyOnnxModel([1, 0, 0], 0), makeVersion(), { maxBatchRows: 4 });
    const rows = Array.from({ length: 10 }, (_, i) => ({ f0: i - 5, f1: 0, f2: 0 }));
    const before = model.stats().runs;
    const scoring = model.score(rows);
    const released = model.release();
    const scores = await scoring;
    await released;
    expect(model.stats().runs - before).toBe(3);
    expect([...scores].map((s) => Math.log(s / (1 - s)))).toEqual(rows.map((r) => expect.closeTo(r.f0, 3)));
  });
});

describe('release', () => {
  it('waits for calls in flight and refuses new ones', async () => {
    const model = await openServingModel(tinyOnnxModel(), makeVersion());
    const inFlight = model.predict([{ f0: 1, f1: 2, f2: 3 }]);
    const released = model.release();
    await expect(model.predict([{ f0: 1, f1: 2, f2: 3 }])).rejects.toBeInstanceOf(UnavailableError);
    const [answer] = await inFlight;
    expect(typeof answer!.prediction).toBe('number');
    await released;
    await model.release(); // idempotent
  });
});

describe('malformed and hostile model files', () => {
  const valid = tinyOnnxModel();
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['garbage', Uint8Array.from({ length: 512 }, (_, i) => (i * 7919) % 256)],
    ['text', new TextEncoder().encode('{"not": "onnx"}')],
    ['truncated', valid.slice(0, Math.floor(valid.length / 2))],
  ];
  for (const [name, bytes] of cases) {
    it(`refuses a ${name} file with a ValidationError`, async () => {
      const err = await expectValidation(openServingModel(bytes, makeVersion()), 'model');
      expect(err.message).toContain('credit@1');
    });
  }

  it('refuses a model that would read tensor data from a file beside the server', async () => {
    // onnxruntime would read ./package.json from the working directory and answer it as an output.
    const err = await expectValidation(
      openServingModel(externalDataOnnx('package.json'), makeVersion()),
      'model',
    );
    expect(err.message).toMatch(/external/);
  });

  it('refuses a signature.json that does not match the graph', async () => {
    const err = await expectValidation(
      openServingModel(
        valid,
        makeVersion({ task: 'classification', trainer: 'linear', inputs: [{ name: 'x', type: 'float' }] }),
      ),
      'model',
    );
    expect(err).toBeInstanceOf(AppError);
  });
});

/** Graphs built node by node for the cases an exporter would never write. */
function onnx(
  inputs: [string, number, (number | string)[]][],
  outputs: [string, number, (number | string)[]][],
  nodes: Omit<NodeMessage, 'name' | 'attribute'>[],
  initializer: TensorMessage[] = [],
): Uint8Array {
  const info = ([name, elemType, dims]: [string, number, (number | string)[]]) => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  return encodeModel({
    irVersion: 8,
    producerName: 'hostile',
    producerVersion: '1',
    graph: {
      name: 'g',
      node: nodes.map((n, i) => ({ ...n, name: `n${i}`, attribute: [] })),
      initializer,
      input: inputs.map(info),
      output: outputs.map(info),
    },
    opsetImport: [{ domain: '', version: 17 }],
  });
}
const FLOAT16 = 10;

describe('graphs that cannot be served are refused at load', () => {
  const refusals: [string, Uint8Array, RegExp][] = [
    [
      'an image input',
      onnx(
        [['x', DataType.FLOAT, ['N', 3, 224, 224]]],
        [['y', DataType.FLOAT, ['N', 3, 224, 224]]],
        [{ opType: 'Identity', input: ['x'], output: ['y'] }],
      ),
      /shape \[N, 3, 224, 224\]/,
    ],
    [
      'an absurdly wide input',
      onnx(
        [['x', DataType.FLOAT, ['N', 2_000_000_000]]],
        [['y', DataType.FLOAT, ['N', 2_000_000_000]]],
        [{ opType: 'Identity', input: ['x'], output: ['y'] }],
      ),
      /2000000000 wide/,
    ],
    [
      'a float16 input',
      onnx(
        [['x', FLOAT16, ['N', 1]]],
        [['y', FLOAT16, ['N', 1]]],
        [{ opType: 'Identity', input: ['x'], output: ['y'] }],
      ),
      /float16/,
    ],
    [
      'two wide inputs',
      onnx(
        [
          ['a', DataType.FLOAT, ['N', 2]],
          ['b', DataType.FLOAT, ['N', 2]],
        ],
        [['y', DataType.FLOAT, ['N', 2]]],
        [{ opType: 'Add', input: ['a', 'b'], output: ['y'] }],
      ),
      /input 'a' has shape \[N, 2\]/,
    ],
    [
      'a graph that fails when it runs',
      onnx(
        [['x', DataType.FLOAT, ['N', 1]]],
        [['y', DataType.FLOAT, [3]]],
        [{ opType: 'Reshape', input: ['x', 'shape'], output: ['y'] }],
        [{ name: 'shape', dims: [1], dataType: DataType.INT64, int64Data: [3] }],
      ),
      /fails on a warm-up row/,
    ],
    [
      'a graph whose only output is not per row',
      onnx(
        [['x', DataType.FLOAT, ['N', 1]]],
        [['s', DataType.FLOAT, []]],
        [{ opType: 'ReduceSum', input: ['x'], output: ['s'] }],
      ),
      /no output gives one row per input row/,
    ],
  ];
  for (const [name, bytes, message] of refusals) {
    it(`${name}`, async () => {
      const err = await expectValidation(openServingModel(bytes, makeVersion()), 'model');
      expect(err.message).toMatch(message);
    });
  }

  it('an aggregate output beside a per-row one is left out of the answer', async () => {
    const model = await openServingModel(
      onnx(
        [['x', DataType.FLOAT, ['N', 1]]],
        [
          ['y', DataType.FLOAT, ['N', 1]],
          ['s', DataType.FLOAT, []],
        ],
        [
          { opType: 'Identity', input: ['x'], output: ['y'] },
          { opType: 'ReduceSum', input: ['x'], output: ['s'] },
        ],
      ),
      makeVersion(),
    );
    try {
      expect(await model.predict(model.parse({ instances: [2, 5] }))).toEqual([
        { prediction: 2, outputs: { y: [2] } },
        { prediction: 5, outputs: { y: [5] } },
      ]);
    } finally {
      await model.release();
    }
  });

  it('a model with a fixed batch of one runs row by row', async () => {
    const model = await openServingModel(tinyFixedBatchModel(), makeVersion());
    try {
      expect(model.kind).toBe('tensor');
      const out = await model.score(
        model.parse([
          [1, 2, 3],
          [0, 0, 0],
          [-4, 0, 1],
        ]),
      );
      expect([...out]).toEqual([1 + 4 + 9, 0, -4 + 3].map(Math.fround));
    } finally {
      await model.release();
    }
  });

  it('mutated bytes of a valid model are served or refused, never a crash', async () => {
    const valid = tinyOnnxModel();
    let refused = 0;
    for (let k = 0; k < 60; k++) {
      const bytes = valid.slice();
      for (let m = 0; m < 3; m++) {
        const at = (k * 7919 + m * 104_729) % bytes.length;
        bytes[at] = (bytes[at]! + 1 + k * 37 + m) % 256;
      }
      try {
        const model = await openServingModel(bytes, makeVersion());
        await model.predict(model.parse(model.features.map(() => 1)));
        await model.release();
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});

/** x[1, 3] float -> y = x · [1, 2, 3]. */
function tinyFixedBatchModel(): Uint8Array {
  const w = new Uint8Array(12);
  const view = new DataView(w.buffer);
  for (const [i, v] of [1, 2, 3].entries()) view.setFloat32(i * 4, v, true);
  return onnx(
    [['x', DataType.FLOAT, [1, 3]]],
    [['y', DataType.FLOAT, [1, 1]]],
    [{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }],
    [{ name: 'w', dims: [3, 1], dataType: DataType.FLOAT, rawData: w }],
  );
}
