import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import type { FitOptions, TrainingTable } from './index.js';
import { fitModel } from './index.js';

function table(
  overrides: Partial<Record<'x' | 'c' | 'y' | 'v', (number | string | boolean | null)[]>> = {},
): TrainingTable {
  const x = overrides.x ?? [1, 2, 3, 4, 5, 6];
  const n = x.length;
  return {
    rowCount: n,
    columns: [
      { name: 'x', type: 'float', values: x },
      { name: 'c', type: 'string', values: overrides.c ?? ['a', 'b', 'a', 'b', 'a', null] },
      { name: 'y', type: 'integer', values: overrides.y ?? [0, 1, 0, 1, 1, 0] },
      { name: 'v', type: 'string', values: overrides.v ?? ['lo', 'hi', 'lo', 'hi', 'mid', 'lo'] },
    ],
  };
}

/** Fits with a callback that fails the test if any training work starts. */
function attempt(opts: Partial<FitOptions>): unknown {
  try {
    fitModel({
      table: table(),
      target: 'y',
      features: ['x', 'c'],
      task: 'classification',
      kind: 'gbdt',
      seed: 1,
      ...opts,
      onIteration: () => {
        throw new Error('training started');
      },
    });
  } catch (err) {
    return err;
  }
  throw new Error('expected a ValidationError');
}

function expectInvalid(opts: Partial<FitOptions>, message: RegExp, field?: string): void {
  const err = attempt(opts);
  expect(err).toBeInstanceOf(ValidationError);
  expect((err as ValidationError).message).toMatch(message);
  if (field !== undefined) expect((err as ValidationError).details).toMatchObject({ field });
}

describe('a fit request is refused before any work when', () => {
  it('the target column does not exist', () => {
    expectInvalid({ target: 'nope' }, /target column 'nope' does not exist/, 'target');
  });

  it('the target of a regression is not numeric', () => {
    expectInvalid(
      { target: 'v', task: 'regression' },
      /'v' must be numeric for regression.*string/,
      'target',
    );
  });

  it('the target of a classification has a single class', () => {
    expectInvalid({ table: table({ y: [1, 1, 1, 1, 1, 1] }) }, /single class/, 'target');
  });

  it('the training rows hold a single class once validation rows are set aside', () => {
    expectInvalid({ validation: { rows: [1, 3, 4] } }, /single class in the training rows/, 'target');
  });

  it('a class of a multiclass target has no training rows (only validation ones)', () => {
    // 'mid' is row 4 only: held out, the trainer would never see it.
    expectInvalid(
      { target: 'v', features: ['x'], validation: { rows: [4] } },
      /class 'mid' appears only in the validation rows/,
      'target',
    );
  });

  it('the target has more distinct labels than classification takes', () => {
    const many = Array.from({ length: 101 }, (_, i) => `c${i}`);
    expectInvalid(
      {
        table: {
          rowCount: 101,
          columns: [
            { name: 'x', type: 'float', values: many.map((_, i) => i) },
            { name: 'y', type: 'string', values: many },
          ],
        },
        features: ['x'],
      },
      /101 classes; classification takes at most 100/,
      'target',
    );
  });

  it('the target is missing in a row', () => {
    expectInvalid({ table: table({ y: [0, 1, null, 1, 1, 0] }) }, /'y' is missing at row 2/, 'target');
  });

  it('the dataset is empty', () => {
    expectInvalid({ table: table({ x: [], c: [], y: [], v: [] }) }, /empty/, 'table');
  });

  it('a feature holds NaN or an infinity', () => {
    expectInvalid(
      { table: table({ x: [1, 2, Number.NaN, 4, 5, 6] }) },
      /feature 'x' has NaN at row 2/,
      'features.x',
    );
    expectInvalid(
      { table: table({ x: [1, 2, 3, Number.POSITIVE_INFINITY, 5, 6] }) },
      /feature 'x' has Infinity at row 3/,
      'features.x',
    );
  });

  it('a numeric feature holds a string', () => {
    expectInvalid({ table: table({ x: [1, 2, 'three', 4, 5, 6] }) }, /'x' must hold numbers/, 'features.x');
  });

  it('a param is unknown, not a number, or out of range', () => {
    expectInvalid({ params: { depth: 3 } }, /unknown param 'depth' for the gbdt trainer/, 'params.depth');
    expectInvalid(
      { kind: 'linear', params: { n_estimators: 3 } },
      /unknown param 'n_estimators' for the linear/,
    );
    expectInvalid(
      { params: { learning_rate: 'fast' } },
      /params.learning_rate must be a number/,
      'params.learning_rate',
    );
    expectInvalid({ params: { subsample: 0 } }, /params.subsample must be in \(0, 1\]/, 'params.subsample');
    expectInvalid({ params: { max_depth: 2.5 } }, /whole number/, 'params.max_depth');
  });

  it('a feature does not exist, is the target, or is listed twice', () => {
    expectInvalid({ features: ['x', 'nope'] }, /feature column 'nope' does not exist/, 'features');
    expectInvalid({ features: ['x', 'y'] }, /'y' is the target/, 'features');
    expectInvalid({ features: ['x', 'x'] }, /listed twice/, 'features');
    expectInvalid({ features: [] }, /no feature columns/, 'features');
  });

  it('the model kind, task, seed or validation rows are wrong', () => {
    expectInvalid({ kind: 'forest' as never }, /model must be 'linear' or 'gbdt'/, 'kind');
    expectInvalid({ task: 'ranking' as never }, /task must be/, 'task');
    expectInvalid({ seed: 1.5 }, /seed must be a whole number/, 'seed');
    expectInvalid({ validation: { rows: [0, 6] } }, /validation row 6 is not a row index/, 'validation.rows');
    expectInvalid(
      { validation: { rows: [0, 1, 2, 3, 4, 5] } },
      /none is left to train on/,
      'validation.rows',
    );
  });

  it('a feature takes the name of a model output', () => {
    const t = table();
    t.columns[1]!.name = 'label';
    expectInvalid({ table: t, features: ['x', 'label'] }, /name of a model output/, 'features');
  });
});

describe('what is accepted', () => {
  it('missing numbers and categories are imputed, and booleans and string labels work as targets', () => {
    const model = fitModel({
      table: {
        rowCount: 4,
        columns: [
          { name: 'x', type: 'float', values: [1, null, 3, 4] },
          { name: 'c', type: 'string', values: [null, 'a', '', 'b'] },
          { name: 'ok', type: 'boolean', values: [false, true, false, true] },
        ],
      },
      target: 'ok',
      task: 'classification',
      kind: 'linear',
      seed: 0,
    });
    expect(model.classes).toEqual(['false', 'true']);
    expect(model.features).toEqual([
      { name: 'x', kind: 'numeric' },
      { name: 'c', kind: 'categorical' },
    ]);
    const p = model.predict([{ x: null, c: null }]);
    expect(p[0]).toBeGreaterThan(0);
    expect(p[0]).toBeLessThan(1);
  });

  it('numeric class labels are ordered as numbers: the larger is positive', () => {
    const model = fitModel({
      table: table({ y: [10, 9, 10, 9, 9, 10] }),
      target: 'y',
      features: ['x'],
      task: 'classification',
      kind: 'linear',
      seed: 0,
    });
    expect(model.classes).toEqual(['9', '10']);
  });

  it('a record with a number that is not a number is refused at prediction, naming the feature', () => {
    const model = fitModel({
      table: table(),
      target: 'y',
      features: ['x'],
      task: 'classification',
      kind: 'linear',
      seed: 0,
    });
    expect(() => model.predict([{ x: 'many' }])).toThrow(/x must be a number/);
  });
});
