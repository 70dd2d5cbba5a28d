import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import { runSuite } from './expectation-runner.js';
import { checkColumns, parseSuite } from './suite-parser.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-suite-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const NOW = Date.parse('2024-06-10T00:00:00Z');
const csv = path.join(dir, 'people.csv');
fs.writeFileSync(
  csv,
  [
    'id,region,age,email,income,seen',
    '1,north,34,a@x.org,1000,2024-06-09 12:00:00',
    '2,south,45,b@x.org,2000,2024-06-08 12:00:00',
    '3,north,,c@x.org,3000,2024-06-01 00:00:00',
    '4,east,150,not-an-email,4000,2024-05-01 00:00:00',
    '4,east,29,d@x.org,-5,2024-06-02 00:00:00',
  ].join('\n'),
);

async function check(yamlBody: string) {
  const suite = parseSuite(`name: t\nexpectations:\n${yamlBody}`);
  const [r] = await runSuite(suite, { path: csv, format: 'csv' }, NOW);
  if (!r) throw new Error('no result');
  return r;
}

describe('suite parsing', () => {
  it('reads a suite with every kind of expectation', () => {
    const s = parseSuite(`
name: people
table: people.csv
expectations:
  - column_exists: { column: id }
  - column_type: { column: age, type: integer }
  - not_null: { column: id }
  - null_fraction: { column: age, max: 0.25 }
  - unique: { columns: [id, region] }
  - between: { column: age, min: 0, max: 120 }
  - in_set: { column: region, values: [north, south, east] }
  - regex: { column: email, pattern: '^[^@]+@[^@]+$' }
  - row_count: { min: 1 }
  - mean_between: { column: income, min: 0, max: 10000 }
  - quantile_between: { column: income, quantile: 0.5, max: 5000 }
  - freshness: { column: seen, max_age: 7d }
  - sql: { predicate: "income >= 0", name: income is not negative }
`);
    expect(s.name).toBe('people');
    expect(s.table).toBe('people.csv');
    expect(s.expectations.map((e) => e.kind)).toEqual([
      'column_exists',
      'column_type',
      'not_null',
      'null_fraction',
      'unique',
      'between',
      'in_set',
      'regex',
      'row_count',
      'mean_between',
      'quantile_between',
      'freshness',
      'sql',
    ]);
  });

  it('an unknown expectation is a ValidationError naming it and its position', () => {
    expect(() =>
      parseSuite('name: s\nexpectations:\n  - not_null: { column: a }\n  - be_pretty: { column: a }\n'),
    ).toThrow(/suite\.expectations\[1\]: unknown expectation 'be_pretty'/);
  });

  it('bad parameters and bad YAML name their place', () => {
    expect(() => parseSuite('name: s\nexpectations:\n  - between: { column: a }\n')).toThrow(
      /expectations\[0\]\.between: needs min, max or both/,
    );
    expect(() => parseSuite('name: s\nexpectations:\n  - between: { column: a, min: 5, max: 1 }\n')).toThrow(
      /min is above max/,
    );
    expect(() => parseSuite('name: s\nexpectations:\n  - not_null: { column: a, colour: red }\n')).toThrow(
      /expectations\[0\]\.not_null/,
    );
    expect(() => parseSuite('name: s\nexpectations:\n  - freshness: { column: a, max_age: soon }\n')).toThrow(
      /max_age/,
    );
    expect(() => parseSuite('name: s\nexpectations: []\n')).toThrow(/suite\.expectations/);
    expect(() => parseSuite('name: s\nexpectations:\n  - [unclosed\n')).toThrow(/invalid YAML at line/);
    expect(() => parseSuite('expectations:\n  - not_null: { column: a }\n')).toThrow(/suite\.name/);
  });

  it('a column not in the table is a ValidationError naming it', () => {
    const s = parseSuite(
      'name: s\nexpectations:\n  - column_exists: { column: ghost }\n  - not_null: { column: nope }\n',
    );
    const schema = { columns: [{ name: 'a', type: 'integer' as const, nullable: false }] };
    const err = (() => {
      try {
        checkColumns(s, schema, 't.csv');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toBe(
      "suite.expectations[1].not_null: column 'nope' is not in table 't.csv'",
    );
  });
});

describe('expectations (pass and fail)', () => {
  it('column_exists', async () => {
    expect((await check('  - column_exists: { column: id }')).passed).toBe(true);
    expect(await check('  - column_exists: { column: ghost }')).toMatchObject({
      passed: false,
      observed: 'missing',
    });
  });
  it('column_type', async () => {
    expect((await check('  - column_type: { column: age, type: integer }')).passed).toBe(true);
    expect(await check('  - column_type: { column: email, type: float }')).toMatchObject({
      passed: false,
      observed: 'string',
    });
  });
  it('not_null with example rows', async () => {
    expect((await check('  - not_null: { column: id }')).passed).toBe(true);
    const r = await check('  - not_null: { column: age }');
    expect(r).toMatchObject({ passed: false, failingRows: 1 });
    expect(r.examples).toEqual([
      { id: 3, region: 'north', age: null, email: 'c@x.org', income: 3000, seen: '2024-06-01T00:00:00.000Z' },
    ]);
  });
  it('null_fraction', async () => {
    expect((await check('  - null_fraction: { column: age, max: 0.2 }')).passed).toBe(true);
    expect(await check('  - null_fraction: { column: age, max: 0.1 }')).toMatchObject({
      passed: false,
      observed: 0.2,
    });
  });
  it('unique, single and compound', async () => {
    const single = await check('  - unique: { column: id }');
    expect(single).toMatchObject({ passed: false, failingRows: 2 });
    expect(single.examples?.map((r) => r.id)).toEqual([4, 4]);
    expect((await check('  - unique: { columns: [id, age] }')).passed).toBe(true);
    expect((await check('  - unique: { columns: [id, region] }')).passed).toBe(false);
  });
  it('between', async () => {
    expect((await check('  - between: { column: age, min: 0, max: 200 }')).passed).toBe(true);
    const r = await check('  - between: { column: age, min: 0, max: 120 }');
    expect(r).toMatchObject({ passed: false, failingRows: 1 });
    expect(r.examples?.[0]?.age).toBe(150);
  });
  it('in_set', async () => {
    expect((await check('  - in_set: { column: region, values: [north, south, east] }')).passed).toBe(true);
    expect(await check('  - in_set: { column: region, values: [north, south] }')).toMatchObject({
      passed: false,
      failingRows: 2,
    });
    expect((await check('  - in_set: { column: id, values: [1, 2, 3, 4] }')).passed).toBe(true);
  });
  it('regex', async () => {
    expect((await check("  - regex: { column: region, pattern: '^[a-z]+$' }")).passed).toBe(true);
    const r = await check("  - regex: { column: email, pattern: '^[^@]+@[^@]+$' }");
    expect(r).toMatchObject({ passed: false, failingRows: 1 });
    expect(r.examples?.[0]?.email).toBe('not-an-email');
  });
  it('row_count', async () => {
    expect((await check('  - row_count: { min: 5, max: 5 }')).passed).toBe(true);
    expect(await check('  - row_count: { min: 10 }')).toMatchObject({ passed: false, observed: 5 });
  });
  it('mean_between', async () => {
    expect(await check('  - mean_between: { column: income, min: 1999, max: 2000 }')).toMatchObject({
      passed: true,
      observed: 1999,
    });
    expect((await check('  - mean_between: { column: income, min: 2500 }')).passed).toBe(false);
  });
  it('quantile_between', async () => {
    expect(
      await check('  - quantile_between: { column: income, quantile: 0.5, min: 2000, max: 2000 }'),
    ).toMatchObject({ passed: true, observed: 2000 });
    expect((await check('  - quantile_between: { column: income, quantile: 0.9, max: 3000 }')).passed).toBe(
      false,
    );
  });
  it('freshness', async () => {
    const ok = await check('  - freshness: { column: seen, max_age: 1d }');
    expect(ok).toMatchObject({
      passed: true,
      observed: { latest: '2024-06-09T12:00:00.000Z', ageSeconds: 43200 },
    });
    expect((await check('  - freshness: { column: seen, max_age: 6h }')).passed).toBe(false);
  });
  it('custom SQL predicate', async () => {
    expect((await check('  - sql: { predicate: "age IS NULL OR age > 0" }')).passed).toBe(true);
    const r = await check('  - sql: { predicate: "income >= 0", name: no negative income }');
    expect(r).toMatchObject({ passed: false, failingRows: 1, expected: 'no negative income' });
    expect(r.examples?.[0]?.income).toBe(-5);
  });
  it('a predicate cannot reach outside the table', async () => {
    await expect(
      check(`  - sql: { predicate: "id IN (SELECT 1 FROM read_csv('/etc/passwd'))" }`),
    ).rejects.toThrow(/sql\.predicate: Permission Error/);
    await expect(check('  - sql: { predicate: "true; SELECT 1" }')).rejects.toThrow(/without ';'/);
    await expect(check('  - sql: { predicate: "nosuchcol > 1" }')).rejects.toThrow(/sql\.predicate/);
    // Subqueries over the table itself are fine.
    expect(
      (await check(`  - sql: { predicate: "income <= (SELECT max(income) FROM read_csv('${csv}'))" }`))
        .passed,
    ).toBe(true);
  });
});

describe('sql predicates run under a time limit', () => {
  it('interrupts a predicate that runs past the limit with an error naming it, and runs cheap ones', async () => {
    const suite = parseSuite(`name: t
expectations:
  - sql: { predicate: "income >= -10" }
  - sql: { predicate: "(SELECT sum(hash(i)) FROM range(100000000000) t(i)) IS NOT NULL" }
`);
    const started = Date.now();
    const err = await runSuite(suite, { path: csv, format: 'csv' }, NOW, { predicateMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({
      message: expect.stringMatching(/^suite\.expectations\[1\]\.sql\.predicate: ran longer than 300 ms/),
      details: { field: 'suite.expectations[1].sql.predicate', limitMs: 300 },
    });
    // Interrupted, not run to its end (which would take minutes).
    expect(Date.now() - started).toBeLessThan(20_000);
    const [cheap] = await runSuite(
      parseSuite('name: t\nexpectations:\n  - sql: { predicate: "income >= -10" }\n'),
      {
        path: csv,
        format: 'csv',
      },
      NOW,
      { predicateMs: 300 },
    );
    expect(cheap).toMatchObject({ passed: true, observed: 0 });
  }, 30_000);
});
