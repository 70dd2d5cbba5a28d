import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import { NumericRecords, readNumericRecords } from './numeric-records.js';

/** What JSON.parse makes of a body of records or of split rows, as the reader's names and row-major values. */
function parsedAsTable(text: string): { names: string[]; values: number[]; rows: number } {
  const body = JSON.parse(text) as unknown;
  const split = (body as { dataframe_split?: { columns: string[]; data: number[][] } }).dataframe_split;
  if (split !== undefined) {
    // The reader's form: those keys only, and every row as long as the columns.
    for (const key of Object.keys(split))
      if (!['columns', 'data', 'index'].includes(key)) throw new Error(`split key ${key} read in ${text}`);
    for (const row of split.data)
      if (row.length !== split.columns.length)
        throw new Error(`a row of ${row.length} values read in ${text}`);
    return { names: split.columns, values: split.data.flat(), rows: split.data.length };
  }
  const records = (
    Array.isArray(body) ? body : (body as { dataframe_records: unknown[] }).dataframe_records
  ) as Record<string, number>[];
  const names = Object.keys(records[0] as object);
  return { names, values: records.flatMap((r) => names.map((n) => r[n] as number)), rows: records.length };
}

/** Reads `text`, expects a table, and checks it against JSON.parse bit for bit. */
function expectSameAsJson(text: string): NumericRecords {
  const read = readNumericRecords(Buffer.from(text));
  expect(read, text).toBeInstanceOf(NumericRecords);
  const r = read as NumericRecords;
  const want = parsedAsTable(text);
  expect(r.names).toEqual(want.names);
  expect(r.rows).toBe(want.rows);
  expect(r.values.length).toBe(want.values.length);
  for (let k = 0; k < want.values.length; k++) {
    if (!Object.is(r.values[k], want.values[k]))
      throw new Error(`value ${k} of ${text}: read ${r.values[k]}, JSON.parse ${want.values[k]}`);
  }
  expect(r.parsed()).toEqual(JSON.parse(text));
  return r;
}

const refused = (text: string) => readNumericRecords(Buffer.from(text));

describe('numeric records, read without JSON.parse', () => {
  it('reads both envelopes, any JSON whitespace and every number form as JSON.parse does', () => {
    expect(expectSameAsJson('{"dataframe_records":[{"a":1,"b":-2.5},{"a":0,"b":3}]}').path).toBe(
      'dataframe_records',
    );
    expect(expectSameAsJson('[{"a":1}]').path).toBe('records');
    // Python's json.dumps separators, pretty printing, tabs and CRLF.
    expectSameAsJson('{"dataframe_records": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}');
    expectSameAsJson(' \r\n\t{ "dataframe_records" :\n [\n  {\n   "a" : 1 ,\n   "b" : 2\n  }\n ]\n}\n ');
    const forms = [
      '0',
      '-0',
      '-0.0',
      '0.5',
      '-0.000',
      '7',
      '-7',
      '123456789',
      '9007199254740991',
      '9007199254740993',
      '123456789012345678901234567890',
      '0.1',
      '0.3',
      '2.675',
      '1.0000000000000002',
      '0.1234567890123456789',
      '3.14159265358979323846',
      '1e0',
      '1E5',
      '1e+5',
      '-2.5e-3',
      '1e-7',
      '5e-324',
      '1.7976931348623157e308',
      '0.0000000000000000000001',
      '0.00000000000000000000001',
      '100000000000000000000000',
      '4.35',
      '1.005',
    ];
    for (const f of forms) {
      expectSameAsJson(`{"dataframe_records":[{"x":${f},"y":${f}}]}`);
      expectSameAsJson(`{"dataframe_split":{"columns":["x","y"],"data":[[${f},${f}]]}}`);
    }
  });

  it("reads pandas' split orient: columns and data in either order, an index ignored, any whitespace", () => {
    const split = expectSameAsJson('{"dataframe_split":{"columns":["a","b"],"data":[[1,-2.5],[0,3]]}}');
    expect(split.path).toBe('dataframe_split.data');
    expect(split.names).toEqual(['a', 'b']);
    expect(split.values).toEqual([1, -2.5, 0, 3]);
    expect(expectSameAsJson('{"dataframe_split":{"data":[[1,2]],"columns":["a","b"]}}').values).toEqual([
      1, 2,
    ]);
    // pandas' to_dict(orient="split") puts the index first.
    expectSameAsJson('{"dataframe_split":{"index":[0,1,-2],"columns":["a"],"data":[[1],[2],[3]]}}');
    expectSameAsJson('{"dataframe_split":{"columns":["a"],"data":[[1]],"index":[]}}');
    expectSameAsJson(
      ' {\n "dataframe_split" : {\r\n\t"columns" : [ "a" , "b" ] ,\n "data" : [ [ 1 , 2 ] , [ 3 , 4 ] ] } } ',
    );
  });

  it('gives the same bits as JSON.parse on random doubles, printed every way JSON allows', () => {
    const rand = seededRandom(19);
    for (let t = 0; t < 400; t++) {
      const row: string[] = [];
      for (let j = 0; j < 25; j++) {
        const scale = 10 ** Math.floor(rand() * 40 - 20);
        const v = (rand() * 2 - 1) * scale;
        const digits = Math.floor(rand() * 18);
        const text = [
          String(v),
          v.toFixed(Math.min(digits, 20)),
          v.toExponential(Math.min(digits, 20)),
          v.toPrecision(digits + 1),
        ][j % 4] as string;
        row.push(`"c${j}":${text}`);
      }
      expectSameAsJson(`[{${row.join(',')}}]`);
    }
  });

  it('gives up on every other body, so JSON.parse and the record checks answer it as before', () => {
    const bodies = [
      '',
      ' ',
      '[]',
      '{}',
      '[{}]',
      '{"dataframe_records":[]}',
      '{"dataframe_records":{}}',
      '{"dataframe_records":[{"a":1}],"params":{}}',
      '{"instances":[{"a":1}]}',
      '{"a":1}',
      '[1,2]',
      '[[1,2]]',
      '[{"a":"1"}]',
      '[{"a":null}]',
      '[{"a":true}]',
      '[{"a":[1]}]',
      '[{"a":{"b":1}}]',
      '[{"a":01}]',
      '[{"a":1.}]',
      '[{"a":.5}]',
      '[{"a":+1}]',
      '[{"a":1e}]',
      '[{"a":1e+}]',
      '[{"a":-}]',
      '[{"a":1e999}]',
      '[{"a":-1e999}]',
      '[{"a":NaN}]',
      '[{"a":Infinity}]',
      '[{"a":1,}]',
      '[{"a":1},]',
      '[{"a":1}] x',
      '[{"a":1}]]',
      '{"dataframe_records":[{"a":1}]',
      '[{"a":1,"a":2}]',
      '[{"a":1},{"b":1}]',
      '[{"a":1,"b":2},{"b":2,"a":1}]',
      '[{"a":1},{"a":1,"b":2}]',
      '[{"a":1,"b":2},{"a":1}]',
      '[{"a\\u0062":1}]',
      '[{"a\\"":1}]',
      '[{"é":1}]',
      '[{"a\tb":1}]',
      '\ufeff[{"a":1}]',
      '[{a:1}]',
      "[{'a':1}]",
      '[{"a" 1}]',
      '[{"a":1 "b":2}]',
      '{"dataframe_records" [{"a":1}]}',
      '{"dataframe_record":[{"a":1}]}',
      // the split orient outside its form
      '{"dataframe_split":{}}',
      '{"dataframe_split":[]}',
      '{"dataframe_split":{"columns":["a"]}}',
      '{"dataframe_split":{"data":[[1]]}}',
      '{"dataframe_split":{"columns":["a"],"data":[]}}',
      '{"dataframe_split":{"columns":[],"data":[[]]}}',
      '{"dataframe_split":{"columns":["a","b"],"data":[[1]]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1,2]]}}',
      '{"dataframe_split":{"columns":["a","b"],"data":[[1,2],[3]]}}',
      '{"dataframe_split":{"columns":["a","b"],"data":[[1,2],[3,4,5]]}}',
      '{"dataframe_split":{"columns":["a","a"],"data":[[1,2]]}}',
      '{"dataframe_split":{"columns":["a"],"columns":["a"],"data":[[1]]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]],"data":[[2]]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]],"index":[0],"index":[0]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]],"extra":1}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]],"index":["r0"]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]],"index":[0.5]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]],"index":[01]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]],"index":[0,]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]],"index":null}}',
      '{"dataframe_split":{"columns":["a"],"data":[{"a":1}]}}',
      '{"dataframe_split":{"columns":["a"],"data":[["1"]]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[null]]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[[1]]]}}',
      '{"dataframe_split":{"columns":["a"],"data":[1]}}',
      '{"dataframe_split":{"columns":[1],"data":[[1]]}}',
      '{"dataframe_split":{"columns":"a","data":[[1]]}}',
      '{"dataframe_split":{"columns":null,"data":[[1]]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]]},"params":{}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]]}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]]}}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1]],}}',
      '{"dataframe_split":{,"columns":["a"],"data":[[1]]}}',
      '{"dataframe_split":{"columns":["a",],"data":[[1]]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1,]]}}',
      '{"dataframe_split":{"columns":["a"],"data":[[1],]}}',
      '{"dataframe_splits":{"columns":["a"],"data":[[1]]}}',
      '{"dataframe_split":{"columns":["__proto__"],"data":[[1]]}}',
      '{"dataframe_split":{"columns":["a","constructor"],"data":[[1,2]]}}',
      '{"dataframe_split":{"columns":["a\\u0062"],"data":[[1]]}}',
      // a finite-looking number too large for a double, written without an exponent
      `[{"a":1${'0'.repeat(400)}}]`,
      `[{"a":-1${'0'.repeat(400)}.5}]`,
      // whitespace JSON does not have, and bytes outside ASCII
      '[{"a":1}\v]',
      '[\f{"a":1}]',
      '[{"a":\u00a01}]',
      '[{"a":1}]\u00a0',
      '[{"a":1}]\u0000',
      // keys left to the prototype-poisoning checks
      '[{"__proto__":1}]',
      '[{"a":1,"constructor":2}]',
      '{"dataframe_records":[{"a":1,"__proto__":2}]}',
    ];
    for (const text of bodies) expect(refused(text), text).toBeNull();
  });

  it('accepts no byte string JSON.parse refuses, and reads what it accepts as JSON.parse does (mutation fuzz)', () => {
    const rand = seededRandom(7);
    const seeds = [
      '{"dataframe_records":[{"x0":1.5,"x1":-2,"x2":3e-2},{"x0":0,"x1":10.25,"x2":-0.5}]}',
      '[{"a": 1, "b": 2.5}, {"a": -3, "b": 4e10}]',
      '{ "dataframe_records" : [ { "k" : 0.125 } ] }',
      '{"dataframe_split":{"index":[0,1],"columns":["x0","x1"],"data":[[1.5,-2],[3e-2,0]]}}',
      '{ "dataframe_split" : { "columns" : [ "a" ] , "data" : [ [ 10.25 ] , [ -0.5 ] ] } }',
    ];
    const alphabet = '{}[]",:.-+eE0123456789 \n\t\r\v\f\u00a0\u00e9\u0000abx\\';
    let accepted = 0;
    for (let t = 0; t < 20_000; t++) {
      const bytes = [...(seeds[t % seeds.length] as string)];
      for (let m = 1 + Math.floor(rand() * 3); m > 0; m--) {
        const at = Math.floor(rand() * (bytes.length + 1));
        const ch = alphabet[Math.floor(rand() * alphabet.length)] as string;
        const op = rand();
        if (op < 0.34) bytes.splice(at, 1);
        else if (op < 0.67) bytes.splice(at, 0, ch);
        else bytes[Math.min(at, bytes.length - 1)] = ch;
      }
      const text = bytes.join('');
      const read = readNumericRecords(Buffer.from(text));
      if (read === null) continue;
      accepted++;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new Error(`read a body JSON.parse refuses: ${text}`);
      }
      expect(json, text).toEqual(read.parsed());
      expectSameAsJson(text);
    }
    // The mutations keep a share of the bodies valid: the property was exercised, not skipped.
    expect(accepted).toBeGreaterThan(1000);
  });

  it('reuses the names of the list it read last, and reads a new list afresh', () => {
    const one = refused('[{"p":1,"q":2}]') as NumericRecords;
    const again = refused('{"dataframe_records": [{"p": 5, "q": 6}]}') as NumericRecords;
    expect(again.names).toBe(one.names);
    const prefix = refused('[{"p":1}]') as NumericRecords;
    expect(prefix.names).toEqual(['p']);
    const longer = refused('[{"p":1,"q":2,"r":3}]') as NumericRecords;
    expect(longer.names).toEqual(['p', 'q', 'r']);
    const other = refused('[{"q":1,"p":2}]') as NumericRecords;
    expect(other.names).toEqual(['q', 'p']);
    expect(other.values).toEqual([1, 2]);
    // A key that only starts like a known one is not taken for it.
    expect((refused('[{"qq":1,"p":2}]') as NumericRecords).names).toEqual(['qq', 'p']);
    expect(refused('[{"q":1,"q":2}]')).toBeNull();
    // Split columns share the list with records, and a body that gives up leaves it as it was.
    const records = refused('[{"q":1,"p":2}]') as NumericRecords;
    const split = refused('{"dataframe_split":{"columns":["q","p"],"data":[[1,2]]}}') as NumericRecords;
    expect(split.names).toBe(records.names);
    expect(refused('{"dataframe_split":{"columns":["s","t"],"data":[[1,"x"]]}}')).toBeNull();
    expect((refused('[{"q":3,"p":4}]') as NumericRecords).names).toBe(records.names);
    const columns = refused('{"dataframe_split":{"columns":["s","t"],"data":[[1,2]]}}') as NumericRecords;
    expect((refused('[{"s":3,"t":4}]') as NumericRecords).names).toBe(columns.names);
  });

  it('records with more keys than a model may have features are left to JSON.parse', () => {
    const keys = (n: number) => `[{${Array.from({ length: n }, (_, j) => `"k${j}":${j}`).join(',')}}]`;
    expect(refused(keys(65_536))?.names.length).toBe(65_536);
    expect(refused(keys(65_537))).toBeNull();
  });
});
