import { describe, expect, it, vi } from 'vitest';
import { PayloadTooLargeError, ValidationError } from '../../core/errors.js';
import { tensorFeeds } from './model-io.js';
import { planModel, type ValueMeta } from './model-plan.js';
import { NumericRecords, readNumericRecords } from './numeric-records.js';
import { createRecordChecker, type RecordChecker } from './record-check.js';

const column = (name: string, type: string): ValueMeta => ({ name, isTensor: true, type, shape: ['N', 1] });
const outputs: ValueMeta[] = [
  { name: 'probabilities', isTensor: true, type: 'float32', shape: ['N', 2] },
  { name: 'label', isTensor: true, type: 'string', shape: ['N', 1] },
];
const inputs = [column('age', 'float32'), column('income', 'float32'), column('purpose', 'string')];
const signature = {
  task: 'classification',
  trainer: 'gbdt',
  target: 'defaulted',
  classes: ['0', '1'],
  inputs: [
    { name: 'age', type: 'float' },
    { name: 'income', type: 'float' },
    { name: 'purpose', type: 'string' },
  ],
};
/** A Sextant classifier's signature: it imputes missing values. */
const sextant = createRecordChecker(planModel({ inputs, outputs }, signature));
/** The same inputs without signature.json: a model from elsewhere, with no rule for missing values. */
const foreign = createRecordChecker(planModel({ inputs, outputs }, undefined));

const a = { age: 31, income: 52000, purpose: 'car' };
const b = { age: 45.5, income: 18000, purpose: 'education' };

function refusal(parse: () => unknown): ValidationError {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('request bodies', () => {
  it("every MLflow scoring-server format and Sextant's own forms give the same records", () => {
    const bodies: unknown[] = [
      { dataframe_records: [a, b] },
      {
        dataframe_split: {
          columns: ['age', 'income', 'purpose'],
          data: [
            [31, 52000, 'car'],
            [45.5, 18000, 'education'],
          ],
        },
      },
      {
        dataframe_split: {
          index: [0, 1],
          columns: ['purpose', 'age', 'income'],
          data: [
            ['car', 31, 52000],
            ['education', 45.5, 18000],
          ],
        },
      },
      {
        dataframe_split: {
          data: [
            [31, 52000, 'car'],
            [45.5, 18000, 'education'],
          ],
        },
      },
      { instances: [a, b] },
      {
        instances: [
          [31, 52000, 'car'],
          [45.5, 18000, 'education'],
        ],
      },
      { inputs: [a, b] },
      { inputs: { age: [31, 45.5], income: [52000, 18000], purpose: ['car', 'education'] } },
      { dataframe_records: [a, b], params: {} },
      [a, b],
      [
        [31, 52000, 'car'],
        [45.5, 18000, 'education'],
      ],
    ];
    for (const body of bodies) expect(sextant.parse(body), JSON.stringify(body)).toEqual([a, b]);
  });

  it('a single record, a single positional row and single-row columns are one record', () => {
    expect(sextant.parse(a)).toEqual([a]);
    expect(sextant.parse([31, 52000, 'car'])).toEqual([a]);
    expect(sextant.parse({ inputs: { age: 31, income: 52000, purpose: 'car' } })).toEqual([a]);
  });

  it('records keyed by name are passed on, not copied', () => {
    const rows = [a, b];
    const parsed = sextant.parse({ dataframe_records: rows });
    expect(parsed[0]).toBe(a);
  });

  it('a feature named like an MLflow key is a feature, not an envelope', () => {
    const checker = createRecordChecker(
      planModel({ inputs: [column('inputs', 'float32')], outputs }, undefined),
    );
    expect(checker.parse({ inputs: 3 })).toEqual([{ inputs: 3 }]);
    expect(checker.parse({ instances: [1, 2] })).toEqual([{ inputs: 1 }, { inputs: 2 }]);
  });
});

describe('bad input names the field', () => {
  const cases: [string, unknown, string, RegExp][] = [
    [
      'missing field',
      { dataframe_records: [a, { age: 1, income: 2 }] },
      'dataframe_records[1].purpose',
      /is missing/,
    ],
    [
      'extra field',
      { dataframe_records: [a, a, a, { ...a, zip: '12345' }] },
      'dataframe_records[3].zip',
      /not a feature/,
    ],
    [
      'string for a float',
      { dataframe_records: [{ ...a, age: '31' }] },
      'dataframe_records[0].age',
      /must be a number/,
    ],
    ['"NaN" for a float', [{ ...a, income: 'NaN' }], 'records[0].income', /finite number/],
    [
      '"Infinity" for a float',
      { instances: [{ ...a, income: '-Infinity' }] },
      'instances[0].income',
      /finite number/,
    ],
    [
      'Infinity as a number',
      [{ ...a, income: Number.POSITIVE_INFINITY }],
      'records[0].income',
      /finite number/,
    ],
    ['NaN as a number', [{ ...a, income: Number.NaN }], 'records[0].income', /finite number/],
    ['object value', { ...a, age: { years: 3 } }, 'age', /must be a number, got an object/],
    ['list value', { ...a, purpose: ['car'] }, 'purpose', /must be a string, got a list/],
    ['number for a string', { ...a, purpose: 7 }, 'purpose', /must be a string/],
    ['short positional row', { instances: [[31, 52000]] }, 'instances[0]', /has 2 values; the model takes 3/],
    [
      'bad value in a split row',
      { dataframe_split: { columns: ['age', 'income', 'purpose'], data: [[31, 'x', 'car']] } },
      'dataframe_split.data[0][1]',
      /\(income\) must be a number/,
    ],
    [
      'unknown split column',
      { dataframe_split: { columns: ['age', 'income', 'purpos'], data: [] } },
      'dataframe_split.columns[2]',
      /not a feature/,
    ],
    [
      'missing split column',
      { dataframe_split: { columns: ['age', 'income'], data: [[1, 2]] } },
      'dataframe_split.columns',
      /lack the column 'purpose'/,
    ],
    [
      'ragged columns',
      { inputs: { age: [1, 2], income: [1], purpose: ['a', 'b'] } },
      'inputs.income',
      /has 1 values but age has 2/,
    ],
    [
      'bad value in a column',
      { inputs: { age: [1, true, 'x'], income: [1, 2, 3], purpose: ['a', 'b', 'c'] } },
      'inputs.age[2]',
      /must be a number/,
    ],
    ['empty batch', { dataframe_records: [] }, 'dataframe_records', /no records/],
    ['empty bare list', [], 'records', /no records/],
    ['scalar body', 42, 'body', /JSON object or array/],
    [
      'row that is a scalar',
      { instances: [a, 'x'] },
      'instances[1]',
      /object keyed by feature name or a list of 3 values/,
    ],
    ['two envelopes', { instances: [a], inputs: [a] }, 'inputs', /cannot be sent beside instances/],
    [
      'envelope with a stray key',
      { dataframe_records: [a], model: 'x' },
      'model',
      /not expected beside dataframe_records/,
    ],
    ['params', { dataframe_records: [a], params: { temperature: 1 } }, 'params', /not supported/],
    ['envelope that is not a list', { dataframe_records: a }, 'dataframe_records', /must be a list/],
  ];
  for (const [name, body, field, message] of cases) {
    it(`${name} -> ${field}`, () => {
      const err = refusal(() => sextant.parse(body));
      expect(err.details?.field).toBe(field);
      expect(err.message).toMatch(message);
      expect(err.message.startsWith(field)).toBe(true);
    });
  }

  it('lists several problems at once, the first in the message', () => {
    const err = refusal(() => sextant.parse([{ age: 'x' }, { ...a, income: null, extra: 1 }]));
    expect(err.details?.field).toBe('records[0].age');
    expect(err.message).toMatch(/and 3 more problems/);
    expect((err.details!.errors as { field: string }[]).map((e) => e.field)).toEqual([
      'records[0].age',
      'records[0].income',
      'records[0].purpose',
      'records[1].extra',
    ]);
  });

  it('null is a missing value for a model that imputes, refused for one that does not', () => {
    expect(sextant.parse({ ...a, income: null, purpose: null })).toEqual([
      { ...a, income: null, purpose: null },
    ]);
    const err = refusal(() => foreign.parse({ dataframe_records: [a, { ...a, income: null }] }));
    expect(err.details?.field).toBe('dataframe_records[1].income');
    expect(err.message).toMatch(/no rule for missing values/);
  });

  it('booleans are numbers 1/0 for float features, as the trainers encode them', () => {
    expect(sextant.parse({ ...a, age: true })).toEqual([{ ...a, age: true }]);
  });

  it('an oversized batch is refused naming the limit', () => {
    const rows = Array.from({ length: 11 }, () => a);
    expect(sextant.parse(rows, { maxRecords: 11 })).toHaveLength(11);
    let err: unknown;
    try {
      sextant.parse({ dataframe_records: rows }, { maxRecords: 10 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as PayloadTooLargeError).details).toMatchObject({
      field: 'dataframe_records',
      limit: 10,
      records: 11,
    });
    expect((err as PayloadTooLargeError).message).toMatch(/at most 10/);
  });

  it('whole-number inputs refuse fractions', () => {
    const checker = createRecordChecker(
      planModel({ inputs: [column('count', 'int64')], outputs }, undefined),
    );
    expect(checker.parse({ count: 3 })).toEqual([{ count: 3 }]);
    expect(refusal(() => checker.parse({ count: 3.5 })).message).toMatch(/whole number/);
  });
});

describe('records read as numbers only (NumericRecords)', () => {
  const wide = (width: number): ValueMeta => ({
    name: 'input',
    isTensor: true,
    type: 'float32',
    shape: ['N', width],
  });
  const declared = (names: string[]) => ({
    ...signature,
    inputs: names.map((name) => ({ name, type: 'float' })),
  });
  const tensorPlan = planModel({ inputs: [wide(3)], outputs }, declared(['a', 'b', 'c']));
  const tensor = createRecordChecker(tensorPlan);
  const numeric = (body: unknown) => readNumericRecords(Buffer.from(JSON.stringify(body))) as NumericRecords;

  /** Records from the fast path: the parsed body's records, plain objects keyed in feature order, the same tensor. */
  function expectSameAsParsed(fast: Record<string, unknown>[], json: Record<string, unknown>[]): void {
    expect(fast).toEqual(json);
    for (const r of fast) {
      expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
      expect(Object.keys(r)).toEqual(['a', 'b', 'c']);
    }
    const input = (records: Record<string, unknown>[]) =>
      (tensorFeeds(tensorPlan, records).input as { data: unknown }).data;
    expect(input(fast)).toEqual(input(json));
  }

  /** What the checker makes of the body read as numbers, and of the same body parsed as JSON. */
  function both(checker: RecordChecker, body: unknown, opts?: { maxRecords: number }) {
    const outcome = (parse: () => Record<string, unknown>[]) => {
      try {
        return { records: parse() };
      } catch (err) {
        return { error: { type: (err as Error).constructor.name, message: (err as Error).message } };
      }
    };
    const read = numeric(body);
    expect(read).toBeInstanceOf(NumericRecords);
    return {
      fast: outcome(() => checker.parse(read, opts)),
      json: outcome(() => checker.parse(JSON.parse(JSON.stringify(body)), opts)),
    };
  }

  it('give a tensor model the same records and tensor as the parsed body, without parsing it as JSON', () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ a: i / 3, b: -i, c: 1e-7 * i }));
    const parsed = vi.spyOn(NumericRecords.prototype, 'parsed');
    const body = numeric({ dataframe_records: rows });
    const fast = tensor.parse(body);
    expect(parsed).not.toHaveBeenCalled();
    parsed.mockRestore();
    expectSameAsParsed(fast, tensor.parse({ dataframe_records: JSON.parse(JSON.stringify(rows)) }));
    // A single record (no matrix is kept for it) and the bare list form.
    expect(tensor.parse(numeric([{ a: 1, b: 2, c: 3 }]))).toEqual([{ a: 1, b: 2, c: 3 }]);
  });

  it("give a tensor model the same records and tensor from pandas' split orient, without parsing it as JSON", () => {
    const data = Array.from({ length: 10 }, (_, i) => [i / 3, -i, 1e-7 * i]);
    const parsed = vi.spyOn(NumericRecords.prototype, 'parsed');
    const fast = tensor.parse(
      numeric({ dataframe_split: { index: data.map((_, i) => i), columns: ['a', 'b', 'c'], data } }),
    );
    expect(parsed).not.toHaveBeenCalled();
    parsed.mockRestore();
    expectSameAsParsed(
      fast,
      tensor.parse({ dataframe_split: { columns: ['a', 'b', 'c'], data: JSON.parse(JSON.stringify(data)) } }),
    );
    expect(fast[4]).toEqual({ a: 4 / 3, b: -4, c: 4e-7 });
  });

  it('any other numeric body is checked as JSON: the same records or the same error', () => {
    const cases: { checker: RecordChecker; body: unknown; opts?: { maxRecords: number } }[] = [
      // keys in another order than the signature's (the JSON path takes them)
      { checker: tensor, body: [{ c: 3, b: 2, a: 1 }] },
      { checker: tensor, body: [{ a: 1, b: 2 }] },
      { checker: tensor, body: [{ a: 1, b: 2, c: 3, d: 4 }] },
      {
        checker: tensor,
        body: {
          dataframe_records: [
            { a: 1, b: 2, c: 3 },
            { a: 1, b: 2, c: 3 },
          ],
        },
        opts: { maxRecords: 1 },
      },
      {
        checker: tensor,
        body: [
          { a: 1, b: 2, c: 3 },
          { a: 1, b: 2, c: 3 },
        ],
        opts: { maxRecords: 1 },
      },
      // a model with a string feature, and one that takes whole numbers
      { checker: sextant, body: [{ age: 31, income: 52000, purpose: 4 }] },
      {
        checker: createRecordChecker(planModel({ inputs: [column('count', 'int64')], outputs }, undefined)),
        body: { dataframe_records: [{ count: 3 }, { count: 3.5 }] },
      },
      // a model whose feature is named like the envelope: the body is one record, not a list
      {
        checker: createRecordChecker(
          planModel({ inputs: [column('dataframe_records', 'float32')], outputs }, undefined),
        ),
        body: { dataframe_records: [{ dataframe_records: 1 }] },
      },
      {
        checker: createRecordChecker(
          planModel({ inputs: [column('dataframe_split', 'float32')], outputs }, undefined),
        ),
        body: { dataframe_split: { columns: ['dataframe_split'], data: [[1]] } },
      },
      {
        checker: createRecordChecker(
          planModel({ inputs: [column('dataframe_records', 'float32')], outputs }, undefined),
        ),
        body: { dataframe_split: { columns: ['dataframe_records'], data: [[1]] } },
      },
      // split rows: columns in another order, too few or too many, and more rows than allowed
      { checker: tensor, body: { dataframe_split: { columns: ['c', 'b', 'a'], data: [[3, 2, 1]] } } },
      { checker: tensor, body: { dataframe_split: { columns: ['a', 'b'], data: [[1, 2]] } } },
      { checker: tensor, body: { dataframe_split: { columns: ['a', 'b', 'c', 'd'], data: [[1, 2, 3, 4]] } } },
      {
        checker: tensor,
        body: {
          dataframe_split: {
            columns: ['a', 'b', 'c'],
            data: [
              [1, 2, 3],
              [4, 5, 6],
            ],
          },
        },
        opts: { maxRecords: 1 },
      },
      {
        checker: sextant,
        body: { dataframe_split: { columns: ['age', 'income', 'purpose'], data: [[31, 5, 4]] } },
      },
    ];
    for (const { checker, body, opts } of cases) {
      const { fast, json } = both(checker, body, opts);
      expect(fast, JSON.stringify(body)).toEqual(json);
    }
    // A feature named like one envelope leaves the fast path to the other forms' bodies.
    const splitNamed = createRecordChecker(
      planModel(
        { inputs: [column('dataframe_split', 'float32'), column('a', 'float32')], outputs },
        undefined,
      ),
    );
    const parsed = vi.spyOn(NumericRecords.prototype, 'parsed');
    expect(splitNamed.parse(numeric({ dataframe_records: [{ dataframe_split: 1, a: 2 }] }))).toEqual([
      { dataframe_split: 1, a: 2 },
    ]);
    expect(parsed).not.toHaveBeenCalled();
    parsed.mockRestore();
    // The cases above cover both outcomes.
    const outcomes = cases.map(({ checker, body, opts }) => 'error' in both(checker, body, opts).json);
    expect(outcomes).toContain(true);
    expect(outcomes).toContain(false);
  });
});
