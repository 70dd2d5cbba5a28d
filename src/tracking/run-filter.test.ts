import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { parseRunFilter, parseRunOrderBy, type RunFilterClause } from './run-filter.js';

function rejection(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('parseRunFilter accepts MLflow filters', () => {
  const cases: Array<[string, RunFilterClause[]]> = [
    ['', []],
    ['   ', []],
    ['metrics.acc > 0.9', [{ kind: 'metric', key: 'acc', comparator: '>', value: 0.9 }]],
    ['metric.acc>=1', [{ kind: 'metric', key: 'acc', comparator: '>=', value: 1 }]],
    ['metrics.loss < -1.5e-3', [{ kind: 'metric', key: 'loss', comparator: '<', value: -0.0015 }]],
    ['metrics.loss <= .5', [{ kind: 'metric', key: 'loss', comparator: '<=', value: 0.5 }]],
    ['metrics.loss = 3', [{ kind: 'metric', key: 'loss', comparator: '=', value: 3 }]],
    ['metrics.loss != 3', [{ kind: 'metric', key: 'loss', comparator: '!=', value: 3 }]],
    ['metrics.`my metric` > 1', [{ kind: 'metric', key: 'my metric', comparator: '>', value: 1 }]],
    ['metrics."val-loss" > 1', [{ kind: 'metric', key: 'val-loss', comparator: '>', value: 1 }]],
    ['metrics.train.loss > 1', [{ kind: 'metric', key: 'train.loss', comparator: '>', value: 1 }]],
    ["params.lr = '0.01'", [{ kind: 'param', key: 'lr', comparator: '=', value: '0.01' }]],
    ['param.lr != "0.01"', [{ kind: 'param', key: 'lr', comparator: '!=', value: '0.01' }]],
    ["parameters.`a b` like 'x%'", [{ kind: 'param', key: 'a b', comparator: 'LIKE', value: 'x%' }]],
    ["parameters.opt ILIKE '%ADAM%'", [{ kind: 'param', key: 'opt', comparator: 'ILIKE', value: '%ADAM%' }]],
    ["params.\"a b\" = 'it''s'", [{ kind: 'param', key: 'a b', comparator: '=', value: "it's" }]],
    ["params.p LIKE '50\\%'", [{ kind: 'param', key: 'p', comparator: 'LIKE', value: '50\\%' }]],
    ["tags.team = 'vision'", [{ kind: 'tag', key: 'team', comparator: '=', value: 'vision' }]],
    ["tag.mlflow.runName = 'x'", [{ kind: 'tag', key: 'mlflow.runName', comparator: '=', value: 'x' }]],
    [
      "attributes.status = 'FINISHED'",
      [{ kind: 'attribute', key: 'status', comparator: '=', value: 'FINISHED' }],
    ],
    [
      "attribute.run_name ILIKE 'a%'",
      [{ kind: 'attribute', key: 'run_name', comparator: 'ILIKE', value: 'a%' }],
    ],
    ["attr.user_id != 'bob'", [{ kind: 'attribute', key: 'user_id', comparator: '!=', value: 'bob' }]],
    [
      "run.artifact_uri LIKE 's3://%'",
      [{ kind: 'attribute', key: 'artifact_uri', comparator: 'LIKE', value: 's3://%' }],
    ],
    ["status = 'RUNNING'", [{ kind: 'attribute', key: 'status', comparator: '=', value: 'RUNNING' }]],
    ["`Run Name` = 'a'", [{ kind: 'attribute', key: 'run_name', comparator: '=', value: 'a' }]],
    [
      'attributes.start_time >= 1700000000000',
      [{ kind: 'numeric_attribute', key: 'start_time', comparator: '>=', value: 1.7e12 }],
    ],
    ['attributes.created < 5', [{ kind: 'numeric_attribute', key: 'start_time', comparator: '<', value: 5 }]],
    ['end_time != 0', [{ kind: 'numeric_attribute', key: 'end_time', comparator: '!=', value: 0 }]],
    ['attributes.run_id IN (\'a\', "b")', [{ kind: 'run_id_list', comparator: 'IN', values: ['a', 'b'] }]],
    ["attributes.run_id not  in ('a')", [{ kind: 'run_id_list', comparator: 'NOT IN', values: ['a'] }]],
    [
      "metrics.acc > 0.9 AND params.lr = '0.1' and tags.t LIKE 'x%'",
      [
        { kind: 'metric', key: 'acc', comparator: '>', value: 0.9 },
        { kind: 'param', key: 'lr', comparator: '=', value: '0.1' },
        { kind: 'tag', key: 't', comparator: 'LIKE', value: 'x%' },
      ],
    ],
    [
      "params.andy = 'or' And metrics.order > 1",
      [
        { kind: 'param', key: 'andy', comparator: '=', value: 'or' },
        { kind: 'metric', key: 'order', comparator: '>', value: 1 },
      ],
    ],
  ];
  it.each(cases)('%s', (filter, expected) => {
    expect(parseRunFilter(filter)).toEqual(expected);
  });
});

describe('parseRunFilter rejects bad filters, naming the field and the token', () => {
  const cases: Array<[string, RegExp, string]> = [
    ['metrics.acc > abc', /^filter: expected a number after 'metrics\.acc >' but got 'abc'$/, 'abc'],
    ["metrics.acc > '0.5'", /expected a number after 'metrics\.acc >'/, "'0.5'"],
    ['metrics.acc > 1x', /expected a number/, '1x'],
    ["metrics.acc LIKE '1'", /comparator 'LIKE' is not valid for metrics\.acc/, 'LIKE'],
    ['metrics.acc == 1', /comparator '==' is not valid/, '=='],
    ['metrics.acc <> 1', /comparator '<>' is not valid/, '<>'],
    ['params.lr = 0.1', /expected a quoted string after 'params\.lr =' but got '0\.1'/, '0.1'],
    ['params.lr > 0.1', /comparator '>' is not valid for params\.lr/, '>'],
    ["params.lr IN ('a')", /comparator 'IN' is not valid for params\.lr/, 'IN'],
    ["tags.t NOT IN ('a')", /comparator 'NOT IN' is not valid for tags\.t/, 'NOT IN'],
    ["attributes.status IN ('a')", /only attributes\.run_id can be compared with IN/, 'IN'],
    ["attributes.run_id IN 'a'", /non-empty list of quoted strings/, "'a'"],
    ['attributes.run_id IN ()', /non-empty list/, ')'],
    ["attributes.run_id IN ('a' 'b')", /non-empty list/, "'b'"],
    ["attributes.start_time = 'x'", /expected a number after 'attributes\.start_time ='/, "'x'"],
    ["attributes.start_time LIKE '1'", /comparator 'LIKE' is not valid for attributes\.start_time/, 'LIKE'],
    ["attributes.status > 'a'", /comparator '>' is not valid/, '>'],
    [
      "attributes.lifecycle_stage = 'active'",
      /unknown attribute 'lifecycle_stage'/,
      'attributes.lifecycle_stage',
    ],
    ["attributes.constructor = 'x'", /unknown attribute 'constructor'/, 'attributes.constructor'],
    ["nope = 'x'", /unknown attribute 'nope'/, 'nope'],
    ["foo.bar = 'x'", /unknown entity 'foo'/, 'foo'],
    ["datasets.name = 'x'", /unknown entity 'datasets'/, 'datasets'],
    ['metrics.acc > 1 or metrics.acc < 0', /'or' is not supported/, 'or'],
    ['metrics.acc > 1 OR metrics.acc < 0', /'or' is not supported/, 'or'],
    ['metrics.acc > 1 metrics.b > 2', /expected 'and' between clauses but got 'metrics\.b'/, 'metrics.b'],
    ['metrics.acc > 1 and', /expected a clause after 'and'/, '<end>'],
    ['and metrics.acc > 1', /expected a comparator after 'and'/, 'metrics.acc'],
    ['(metrics.acc > 1)', /expected a key/, '('],
    ['metrics.acc', /expected a comparator after 'metrics\.acc' but got '<end>'/, '<end>'],
    ['metrics.acc >', /expected a number after 'metrics\.acc >' but got '<end>'/, '<end>'],
    ['metrics. > 1', /expected a key after 'metrics\.'/, '>'],
    ["params.x = 'open", /unterminated ' quote/, "'open"],
    ['params.`x = 1', /unterminated ` quote/, '`x = 1'],
  ];
  it.each(cases)('%s', (filter, message, token) => {
    const err = rejection(() => parseRunFilter(filter));
    expect(err.message).toMatch(/^filter: /);
    expect(err.message).toMatch(message);
    expect(err.details).toMatchObject({ field: 'filter', token });
  });
});

describe('parseRunOrderBy', () => {
  it('reads keys, aliases and directions; ASC is the default', () => {
    expect(
      parseRunOrderBy([
        'metrics.acc DESC',
        'params.lr',
        'attributes.start_time asc',
        'tags.`a b` desc',
        'run_name',
      ]),
    ).toEqual([
      { kind: 'metric', key: 'acc', ascending: false },
      { kind: 'param', key: 'lr', ascending: true },
      { kind: 'attribute', key: 'start_time', ascending: true },
      { kind: 'tag', key: 'a b', ascending: false },
      { kind: 'attribute', key: 'run_name', ascending: true },
    ]);
    expect(parseRunOrderBy(['created DESC', 'metric."val loss"'])).toEqual([
      { kind: 'attribute', key: 'start_time', ascending: false },
      { kind: 'metric', key: 'val loss', ascending: true },
    ]);
    expect(parseRunOrderBy([])).toEqual([]);
  });

  const bad: Array<[string[], RegExp]> = [
    [['metrics.acc DOWN'], /expected ASC or DESC after 'metrics\.acc' but got 'DOWN'/],
    [['metrics.acc DESC extra'], /unexpected 'extra'/],
    [['metrics.acc DESCENDING'], /expected ASC or DESC/],
    [[''], /expected a key/],
    [['attributes.lifecycle_stage'], /unknown attribute 'lifecycle_stage'/],
    [['`Run Name`'], /unknown attribute 'Run Name'/],
    [['foo.bar'], /unknown entity 'foo'/],
    [['metrics.acc', 'metric.acc DESC'], /metric 'acc' is ordered by more than once/],
    [['start_time', 'created'], /attribute 'start_time' is ordered by more than once/],
  ];
  it.each(bad)('rejects %j', (orderBy, message) => {
    const err = rejection(() => parseRunOrderBy(orderBy));
    expect(err.message).toMatch(/^order_by: /);
    expect(err.message).toMatch(message);
    expect(err.details).toMatchObject({ field: 'order_by' });
  });
});
