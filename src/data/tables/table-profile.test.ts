import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { seededRandom } from '../../core/random.js';
import {
  detectTableFormat,
  diffTables,
  mergeProfiles,
  profileTableFile,
  readTableFile,
  withConnection,
} from './index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-tables-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

function csvRows(seed: number, n: number, shift = 0): string[] {
  const rand = seededRandom(seed);
  const cats = ['red', 'green', 'blue'];
  return Array.from({ length: n }, (_, i) => {
    const x = (rand() * 10 + shift).toFixed(4);
    const cat = cats[Math.floor(rand() * cats.length)];
    const maybe = i % 9 === 0 ? '' : String(Math.floor(rand() * 5));
    return `${x},${cat},${maybe},2024-03-${String(1 + (i % 28)).padStart(2, '0')} 08:00:00`;
  });
}

const header = 'x,cat,maybe,ts';

describe('profileTableFile', () => {
  it('infers names, types and nullability, and profiles each column', async () => {
    const p = write('a.csv', `${header}\n${csvRows(1, 2000).join('\n')}\n`);
    const { rowCount, schema, profile } = await profileTableFile(p, 'csv');
    expect(rowCount).toBe(2000);
    expect(schema.columns).toEqual([
      { name: 'x', type: 'float', nullable: false },
      { name: 'cat', type: 'string', nullable: false },
      { name: 'maybe', type: 'integer', nullable: true },
      { name: 'ts', type: 'timestamp', nullable: false },
    ]);
    const [x, cat, maybe, ts] = profile.columns;
    expect(x?.min).toBeGreaterThanOrEqual(0);
    expect(x?.max).toBeLessThanOrEqual(10);
    expect(x?.mean).toBeGreaterThan(4.5);
    expect(x?.mean).toBeLessThan(5.5);
    // Uniform on [0, 10]: sd = 10 / sqrt(12).
    expect(x?.std).toBeCloseTo(10 / Math.sqrt(12), 0);
    expect(x?.quantiles?.p50).toBeGreaterThan(4.5);
    expect(x?.sketch).toHaveLength(101);
    expect(x?.histogram?.counts.reduce((a, b) => a + b, 0)).toBe(2000);
    expect(cat?.topK?.map((t) => t.value).sort()).toEqual(['blue', 'green', 'red']);
    expect(cat?.topK?.reduce((a, t) => a + t.count, 0)).toBe(2000);
    expect(cat?.topKComplete).toBe(true);
    expect(cat?.distinct).toBe(3);
    expect(maybe?.nulls).toBe(Math.ceil(2000 / 9));
    expect(maybe?.histogram?.counts.reduce((a, b) => a + b, 0)).toBe(2000 - Math.ceil(2000 / 9));
    expect(ts?.min).toBe('2024-03-01T08:00:00.000Z');
    expect(ts?.max).toBe('2024-03-28T08:00:00.000Z');
    expect(ts?.distinct).toBeGreaterThanOrEqual(27);
    expect(ts?.distinct).toBeLessThanOrEqual(29);
  });

  it('infinities and NaN stay out of the numeric statistics instead of failing the profile', async () => {
    const p = write('inf.csv', 'x\n1\n2\ninf\n-inf\nnan\n4\n');
    const { rowCount, profile } = await profileTableFile(p, 'csv');
    expect(rowCount).toBe(6);
    const [x] = profile.columns;
    // 'nan' in a CSV is one of the null tokens (csv-dialect.ts); the infinities are values.
    expect(x?.nulls).toBe(1);
    expect(x?.type).toBe('float');
    expect(x?.min).toBe(1);
    expect(x?.max).toBe(4);
    expect(x?.mean).toBeCloseTo(7 / 3, 10);
    expect(x?.std).toBeCloseTo(Math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2), 10);
  });

  it('reads Parquet and JSON Lines as well', async () => {
    const csv = write('b.csv', `${header}\n${csvRows(2, 300).join('\n')}\n`);
    const pq = path.join(dir, 'b.parquet');
    await withConnection((c) => c.run(`COPY (SELECT * FROM read_csv('${csv}')) TO '${pq}' (FORMAT parquet)`));
    const jl = write('b.jsonl', '{"a": 1, "b": "x", "c": true}\n{"a": 2, "b": null, "c": false}\n');
    const fromCsv = await profileTableFile(csv, 'csv');
    const fromPq = await profileTableFile(pq, 'parquet');
    expect(fromPq.schema).toEqual(fromCsv.schema);
    expect(fromPq.profile.columns[0]?.mean).toBeCloseTo(fromCsv.profile.columns[0]?.mean ?? Number.NaN, 9);
    const fromJl = await profileTableFile(jl, 'jsonl');
    expect(fromJl.schema.columns).toEqual([
      { name: 'a', type: 'integer', nullable: false },
      { name: 'b', type: 'string', nullable: true },
      { name: 'c', type: 'boolean', nullable: false },
    ]);
  });

  it('a column that turns non-numeric after the type-guessing sample is read as text, not rejected', async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => `${i},x`);
    rows.push('oops,y');
    const p = write('late.csv', `n,s\n${rows.join('\n')}\n`);
    const { schema } = await profileTableFile(p, 'csv');
    expect(schema.columns[0]).toEqual({ name: 'n', type: 'string', nullable: false });
  });

  it('malformed CSV is a ValidationError naming the file and the line', async () => {
    const short = write('short.csv', 'a,b\n1,x\n2,y,extra\n3,z\n');
    await expect(profileTableFile(short, 'csv')).rejects.toThrow(
      /short\.csv' at line 3: Expected Number of Columns: 2 Found: 3/,
    );
    const quote = write('quote.csv', 'a,b\n1,x\n2,"y\n3,z\n');
    await expect(profileTableFile(quote, 'csv')).rejects.toThrow(
      /quote\.csv' at line 3: .*unterminated quote/,
    );
    const rows = Array.from({ length: 30_000 }, (_, i) => `${i},x`);
    rows.push('5,z,extra');
    const late = write('late-bad.csv', `a,b\n${rows.join('\n')}\n`);
    const err = await profileTableFile(late, 'csv').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details).toMatchObject({ line: 30_002 });
  });

  it('an empty file is a ValidationError, not a table of one empty column', async () => {
    const p = write('empty.csv', '');
    await expect(profileTableFile(p, 'csv')).rejects.toThrow(ValidationError);
    await expect(readTableFile(p, 'csv')).rejects.toThrow(/is empty/);
  });

  it('a missing file is NotFoundError', async () => {
    await expect(profileTableFile(path.join(dir, 'nope.csv'), 'csv')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('mergeProfiles', () => {
  it('merge(profile(A), profile(B)) matches profile(A and B together)', async () => {
    const a = csvRows(3, 3000);
    const b = csvRows(4, 1500, 5);
    const pa = await profileTableFile(write('ma.csv', `${header}\n${a.join('\n')}\n`), 'csv');
    const pb = await profileTableFile(write('mb.csv', `${header}\n${b.join('\n')}\n`), 'csv');
    const pab = await profileTableFile(write('mab.csv', `${header}\n${[...a, ...b].join('\n')}\n`), 'csv');
    const merged = mergeProfiles(pa.profile, pb.profile);
    expect(merged.rowCount).toBe(4500);
    merged.columns.forEach((m, i) => {
      const whole = pab.profile.columns[i];
      if (!whole) throw new Error('column missing');
      expect(m.name).toBe(whole.name);
      expect(m.count).toBe(whole.count);
      expect(m.nulls).toBe(whole.nulls);
      expect(m.min).toEqual(whole.min);
      expect(m.max).toEqual(whole.max);
      if (whole.mean !== undefined) {
        expect(m.mean).toBeCloseTo(whole.mean, 9);
        expect(m.std).toBeCloseTo(whole.std ?? Number.NaN, 9);
        for (const q of ['p5', 'p25', 'p50', 'p75', 'p95']) {
          const range = (whole.max as number) - (whole.min as number);
          expect(Math.abs((m.quantiles?.[q] ?? 0) - (whole.quantiles?.[q] ?? 0)) / range).toBeLessThan(0.02);
        }
        const total = (c: number[] | undefined) => (c ?? []).reduce((x, y) => x + y, 0);
        expect(total(m.histogram?.counts)).toBeCloseTo(total(whole.histogram?.counts), 3);
      }
      expect(Math.abs(m.distinct - whole.distinct) / Math.max(1, whole.distinct)).toBeLessThan(0.05);
    });
    // Complete frequent-value lists merge exactly.
    expect(merged.columns[1]?.topK).toEqual(pab.profile.columns[1]?.topK);
  });

  it('a column on one side only counts the other side rows as nulls', async () => {
    const pa = await profileTableFile(write('oa.csv', 'a,b\n1,2\n3,4\n'), 'csv');
    const pb = await profileTableFile(write('ob.csv', 'a\n5\n'), 'csv');
    const merged = mergeProfiles(pa.profile, pb.profile);
    expect(merged.columns.find((c) => c.name === 'b')).toMatchObject({ count: 3, nulls: 1 });
    expect(merged.columns.find((c) => c.name === 'a')).toMatchObject({
      count: 3,
      nulls: 0,
      min: 1,
      max: 5,
      mean: 3,
    });
  });
});

describe('readTableFile and detectTableFormat', () => {
  it('reads the asked columns as JS values', async () => {
    const p = write(
      'r.csv',
      'n,s,t,d\n1,x,2024-01-02 03:04:05,2024-01-02\n2,,2024-01-03 00:00:00,2024-01-03\n',
    );
    const t = await readTableFile(p, 'csv', { columns: ['s', 'n', 't', 'd'] });
    expect(t.rowCount).toBe(2);
    expect(t.columns.map((c) => [c.name, c.type, c.values])).toEqual([
      ['s', 'string', ['x', null]],
      ['n', 'integer', [1, 2]],
      ['t', 'timestamp', ['2024-01-02T03:04:05.000Z', '2024-01-03T00:00:00.000Z']],
      ['d', 'date', ['2024-01-02', '2024-01-03']],
    ]);
    await expect(readTableFile(p, 'csv', { columns: ['zz'] })).rejects.toThrow(/column 'zz'/);
  });

  it('knows tables by extension', () => {
    expect(detectTableFormat('a/b.CSV')).toBe('csv');
    expect(detectTableFormat('x.parquet')).toBe('parquet');
    expect(detectTableFormat('x.jsonl')).toBe('jsonl');
    expect(detectTableFormat('x.ndjson')).toBe('jsonl');
    expect(detectTableFormat('model.onnx')).toBeUndefined();
  });
});

describe('diffTables', () => {
  it('reports schema changes, row counts and statistics side by side', async () => {
    const a = await profileTableFile(write('da.csv', 'id,x,old\n1,1.5,a\n2,2.5,b\n'), 'csv');
    const b = await profileTableFile(write('db.csv', 'id,x,new\n1,x,a\n2,3.5,b\n3,,c\n'), 'csv');
    const d = diffTables(a, b);
    expect(d.rowCount).toEqual({ a: 2, b: 3, change: 1 });
    expect(d.schema.added.map((c) => c.name)).toEqual(['new']);
    expect(d.schema.removed.map((c) => c.name)).toEqual(['old']);
    expect(d.schema.typeChanged).toEqual([{ name: 'x', a: 'float', b: 'string' }]);
    expect(d.schema.nullabilityChanged).toEqual([{ name: 'x', a: false, b: true }]);
    const id = d.columns.find((c) => c.name === 'id');
    expect(id?.a).toMatchObject({ min: 1, max: 2, mean: 1.5 });
    expect(id?.b).toMatchObject({ min: 1, max: 3, mean: 2 });
    expect(id?.changed).toBe(true);
  });
});
