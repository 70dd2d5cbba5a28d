import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import type { FittedModel, Task, TrainerKind, TrainingTable } from './index.js';
import { checkOnnx, fitModel, predictOnnx, trainerParams } from './index.js';
import { decodeModel } from './onnx-proto.js';

const kinds: TrainerKind[] = ['linear', 'gbdt'];
const tasks: Task[] = ['classification', 'regression'];
const colours = ['red', 'green', 'blue', 'amber'];

/**
 * A table with a known structure: the label depends on two numbers and a colour; some numbers and
 * colours are missing. `score` is the noisy linear target, `label` its thresholded class.
 */
function makeTable(n: number, seed: number, missingEvery = 11): TrainingTable {
  const noise = 0.3;
  const r = seededRandom(seed);
  const income: (number | null)[] = [];
  const age: number[] = [];
  const colour: (string | null)[] = [];
  const flag: boolean[] = [];
  const score: number[] = [];
  const label: string[] = [];
  for (let i = 0; i < n; i++) {
    const inc = r() * 10 - 5;
    const a = 20 + r() * 50;
    const c = colours[Math.floor(r() * colours.length)]!;
    const f = r() < 0.5;
    const s = 1.5 * inc - 0.08 * (a - 45) + (c === 'red' ? 2 : c === 'blue' ? -1.5 : 0) + (f ? 0.7 : 0);
    income.push(i % missingEvery === 0 ? null : inc);
    age.push(Math.round(a));
    colour.push(i % 9 === 0 ? null : c);
    flag.push(f);
    score.push(s + (r() - 0.5) * 2 * noise);
    label.push(s + (r() - 0.5) * 2 * noise > 0 ? 'yes' : 'no');
  }
  return {
    rowCount: n,
    columns: [
      { name: 'income', type: 'float', values: income },
      { name: 'age', type: 'integer', values: age },
      { name: 'colour', type: 'string', values: colour },
      { name: 'flag', type: 'boolean', values: flag },
      { name: 'score', type: 'float', values: score },
      { name: 'label', type: 'string', values: label },
    ],
  };
}

function records(table: TrainingTable, rows: number[]): Record<string, unknown>[] {
  return rows.map((i) => Object.fromEntries(table.columns.map((c) => [c.name, c.values[i]])));
}

function fitOn(
  kind: TrainerKind,
  task: Task,
  table: TrainingTable,
  extra: Partial<Parameters<typeof fitModel>[0]> = {},
) {
  return fitModel({
    table,
    target: task === 'classification' ? 'label' : 'score',
    features: ['income', 'age', 'colour', 'flag'],
    task,
    kind,
    seed: 42,
    ...extra,
  });
}

/** Textbook AUC: the share of (positive, negative) pairs ranked right, ties counting half. */
function pairAuc(labels: number[], scores: Float64Array): number {
  let good = 0;
  let pairs = 0;
  labels.forEach((li, i) => {
    if (li !== 1) return;
    labels.forEach((lj, j) => {
      if (lj !== 0) return;
      pairs++;
      good += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    });
  });
  return good / pairs;
}

function r2(actual: number[], predicted: Float64Array): number {
  const mean = actual.reduce((s, v) => s + v, 0) / actual.length;
  let ssRes = 0;
  let ssTot = 0;
  actual.forEach((a, i) => {
    ssRes += (a - predicted[i]!) ** 2;
    ssTot += (a - mean) ** 2;
  });
  return 1 - ssRes / ssTot;
}

const train = makeTable(1500, 1);
const test = makeTable(400, 2);
const testRows = Array.from({ length: test.rowCount }, (_, i) => i);

describe.each(kinds)('the %s trainer', (kind) => {
  describe.each(tasks)('on %s', (task) => {
    const model = fitOn(kind, task, train);

    it('exports ONNX whose predictions match in-process ones within 1e-5, with raw records in', async () => {
      const rows = records(test, testRows.slice(0, 120));
      // Serving sees what training never did: unseen and missing categories, missing numbers.
      rows[0]!.colour = 'ultraviolet';
      rows[1]!.colour = null;
      rows[2]!.income = null;
      rows[3] = { age: 30 };
      rows[4]!.flag = 1; // a number where training saw booleans
      const expected = model.predict(rows);
      const { maxAbsDiff } = await checkOnnx(model.toOnnx(), rows, expected);
      expect(maxAbsDiff).toBeLessThanOrEqual(1e-5);
      // An unseen category is the "missing" path, not an error.
      expect(expected[0]).toBeCloseTo(model.predict([{ ...rows[0], colour: undefined }])[0]!, 12);
    });

    it('learns the structure of the data', () => {
      // Trees approximate a linear surface step by step: give them more data and rounds. Missing
      // incomes stay, rarer, so that imputation is part of what is learned.
      const learner = fitOn(
        kind,
        task,
        makeTable(4000, 3, 40),
        kind === 'gbdt' ? { params: { n_estimators: 300 } } : {},
      );
      const holdout = makeTable(400, 4, 40);
      const predicted = learner.predict(records(holdout, testRows));
      if (task === 'classification') {
        const labels = holdout.columns
          .find((c) => c.name === 'label')!
          .values.map((v) => (v === 'yes' ? 1 : 0));
        expect(pairAuc(labels, predicted)).toBeGreaterThan(0.9);
      } else {
        const actual = holdout.columns.find((c) => c.name === 'score')!.values as number[];
        expect(r2(actual, predicted)).toBeGreaterThan(0.9);
      }
    });

    it('gives byte-identical ONNX for the same data, params and seed', () => {
      const again = fitOn(kind, task, train);
      expect(Buffer.from(again.toOnnx()).equals(Buffer.from(model.toOnnx()))).toBe(true);
    });

    it('describes its inputs and outputs in a signature that matches the graph', () => {
      const signature = model.signature();
      const graph = decodeModel(model.toOnnx()).graph;
      expect(graph.input.map((i) => i.name)).toEqual(['income', 'age', 'colour', 'flag']);
      expect(signature.inputs).toEqual([
        { name: 'income', type: 'float' },
        { name: 'age', type: 'float' },
        { name: 'colour', type: 'string' },
        { name: 'flag', type: 'float' },
      ]);
      expect(graph.output.map((o) => o.name)).toEqual(signature.outputs.map((o) => o.name));
      expect(signature).toMatchObject({ format: 'onnx', task, trainer: kind });
      if (task === 'classification') expect(signature.classes).toEqual(['no', 'yes']);
    });
  });
});

describe('classification output', () => {
  it("'label' is the positive class exactly where P(positive) > 0.5", async () => {
    const model = fitOn('gbdt', 'classification', train);
    const rows = records(test, testRows.slice(0, 200));
    const session = await ort.InferenceSession.create(model.toOnnx());
    const feeds = {
      income: new ort.Tensor(
        'float32',
        Float32Array.from(rows, (r) => (r.income as number | null) ?? Number.NaN),
        [200, 1],
      ),
      age: new ort.Tensor(
        'float32',
        Float32Array.from(rows, (r) => r.age as number),
        [200, 1],
      ),
      colour: new ort.Tensor(
        'string',
        rows.map((r) => (r.colour as string | null) ?? ''),
        [200, 1],
      ),
      flag: new ort.Tensor(
        'float32',
        Float32Array.from(rows, (r) => (r.flag ? 1 : 0)),
        [200, 1],
      ),
    };
    const out = await session.run(feeds);
    const p = model.predict(rows);
    const labels = out.label!.data as string[];
    const probabilities = out.probabilities!.data as Float32Array;
    expect(labels).toEqual(Array.from(p, (pi) => (pi > 0.5 ? 'yes' : 'no')));
    for (let i = 0; i < 200; i++) expect(probabilities[2 * i]! + probabilities[2 * i + 1]!).toBeCloseTo(1, 6);
    await session.release();
  });
});

describe('gbdt determinism and iterations', () => {
  const sampled = (seed: number) =>
    fitOn('gbdt', 'classification', train, { seed, params: { subsample: 0.6, colsample: 0.75 } });

  it('the same seed gives the same model; another seed a different one when sampling', () => {
    const a = Buffer.from(sampled(1).toOnnx());
    expect(a.equals(Buffer.from(sampled(1).toOnnx()))).toBe(true);
    expect(a.equals(Buffer.from(sampled(2).toOnnx()))).toBe(false);
  });

  it('reports validation loss and AUC after each tree, and stops when told to', () => {
    const seen: { iteration: number; validation?: { loss: number; metric: number } }[] = [];
    const validation = { rows: Array.from({ length: 300 }, (_, k) => k * 5) };
    const full = fitOn('gbdt', 'classification', train, {
      params: { n_estimators: 30 },
      validation,
      onIteration: (i) => void seen.push(i),
    });
    expect(seen.map((i) => i.iteration)).toEqual(Array.from({ length: 30 }, (_, k) => k + 1));
    expect(seen[29]!.validation!.loss).toBeLessThan(seen[0]!.validation!.loss);
    expect(seen[29]!.validation!.metric).toBeGreaterThan(0.9);
    let calls = 0;
    const stopped = fitOn('gbdt', 'classification', train, {
      params: { n_estimators: 30 },
      validation,
      onIteration: () => ++calls < 5,
    });
    expect(calls).toBe(5);
    const rows = records(test, testRows.slice(0, 50));
    expect(Array.from(stopped.predict(rows))).not.toEqual(Array.from(full.predict(rows)));
    // Five trees: the stopped model is the same as one trained for five rounds.
    const five = fitOn('gbdt', 'classification', train, { params: { n_estimators: 5 }, validation });
    expect(Buffer.from(stopped.toOnnx()).equals(Buffer.from(five.toOnnx()))).toBe(false); // params differ in metadata
    expect(Array.from(stopped.predict(rows))).toEqual(Array.from(five.predict(rows)));
  });

  it('reports RMSE for regression, and validation rows are not trained on', () => {
    const metrics: number[] = [];
    fitOn('gbdt', 'regression', train, {
      params: { n_estimators: 10 },
      validation: { rows: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
      onIteration: (i) => void metrics.push(i.validation!.metric),
    });
    expect(metrics).toHaveLength(10);
    expect(metrics[9]).toBeLessThan(metrics[0]!);
  });
});

describe('gbdt on a feature with one value', () => {
  it('trains, and the feature changes no prediction (a constant column, or one missing in every row)', () => {
    const withColumn = (name: string, value: number | null): TrainingTable => ({
      rowCount: train.rowCount,
      columns: [...train.columns, { name, type: 'float', values: new Array(train.rowCount).fill(value) }],
    });
    // Before the fix, binning a feature with no split threshold looped forever.
    const plain = fitOn('gbdt', 'regression', train, { params: { n_estimators: 5 } });
    const rows = records(
      train,
      Array.from({ length: 100 }, (_, k) => k * 7),
    );
    for (const [name, value] of [
      ['constant', 3],
      ['empty', null],
    ] as const) {
      const model = fitOn('gbdt', 'regression', withColumn(name, value), {
        features: ['income', 'age', 'colour', 'flag', name],
        params: { n_estimators: 5 },
      });
      const other = value === null ? 1 : value + 1;
      expect(Array.from(model.predict(rows.map((r) => ({ ...r, [name]: other }))))).toEqual(
        Array.from(plain.predict(rows)),
      );
    }
  });
});

describe('linear iterations', () => {
  it('reports each Newton step on the validation rows and converges in a few', () => {
    const seen: number[] = [];
    fitOn('linear', 'classification', train, {
      validation: { rows: Array.from({ length: 300 }, (_, k) => k * 5) },
      onIteration: (i) => void seen.push(i.validation!.metric),
    });
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.length).toBeLessThan(30);
    expect(seen[seen.length - 1]).toBeGreaterThan(0.9);
  });
});

describe('gbdt leaf rules', () => {
  it.each([
    { min_samples_leaf: 40, min_child_weight: 1 },
    { min_samples_leaf: 1, min_child_weight: 0 },
  ])('a single tree never makes a leaf smaller than min_samples_leaf (%o)', (rules) => {
    const model = fitOn('gbdt', 'regression', train, {
      params: { n_estimators: 1, max_depth: 10, ...rules },
    });
    const rowsPerLeaf = new Map<number, number>();
    for (const p of model.predict(
      records(
        train,
        Array.from({ length: train.rowCount }, (_, i) => i),
      ),
    )) {
      rowsPerLeaf.set(p, (rowsPerLeaf.get(p) ?? 0) + 1);
    }
    expect(rowsPerLeaf.size).toBeGreaterThan(8);
    expect(Math.min(...rowsPerLeaf.values())).toBeGreaterThanOrEqual(rules.min_samples_leaf);
  });
});

describe('params', () => {
  it('lists each trainer’s params with defaults, and the model reports them resolved', () => {
    expect(trainerParams('gbdt').n_estimators!.default).toBe(100);
    expect(Object.keys(trainerParams('linear'))).toEqual(['l2', 'max_iter', 'tol', 'max_categories']);
    const model: FittedModel = fitOn('linear', 'regression', train, { params: { l2: '0.5' } });
    expect(model.params).toMatchObject({ l2: 0.5, max_iter: 100 });
  });

  it('max_categories keeps the most frequent categories; the rest take the unknown path', async () => {
    const model = fitOn('linear', 'classification', train, { params: { max_categories: 2 } });
    const rows = records(test, testRows.slice(0, 60));
    expect((await checkOnnx(model.toOnnx(), rows, model.predict(rows))).maxAbsDiff).toBeLessThanOrEqual(1e-5);
  });

  it('a file onnxruntime cannot load is a validation error', async () => {
    await expect(predictOnnx(new Uint8Array([1, 2, 3]), [{}])).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });
});
