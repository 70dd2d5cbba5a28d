import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { NumericRecords } from '../serving/model/numeric-records.js';
import { scoringBodyReader } from './scoring-body.js';

/** What the scoring routes' JSON reader makes of a body: its parsed value, or its error. */
function read(text: string): { body?: unknown; error?: string } {
  const reader = scoringBodyReader(Fastify());
  let out: { body?: unknown; error?: string } = {};
  reader.json(Buffer.from(text), (err, body) => {
    out = err ? { error: err.message } : { body };
  });
  return out;
}

describe('the scoring routes read JSON bodies', () => {
  it('rows holding only numbers (records or split) without JSON.parse, any other body as before', () => {
    const numeric = read('{"dataframe_records": [{"a": 1, "b": 2.5}]}').body;
    expect(numeric).toBeInstanceOf(NumericRecords);
    expect((numeric as NumericRecords).parsed()).toEqual({ dataframe_records: [{ a: 1, b: 2.5 }] });
    expect(read('{"dataframe_records": [{"a": 1, "b": "x"}]}').body).toEqual({
      dataframe_records: [{ a: 1, b: 'x' }],
    });
    const split = read('{"dataframe_split": {"columns": ["a"], "data": [[1], [2]]}}').body;
    expect(split).toBeInstanceOf(NumericRecords);
    expect((split as NumericRecords).values).toEqual([1, 2]);
    // Behind a byte-order mark: Fastify's parser strips it.
    expect(read('\ufeff[{"a": 1}]').body).toEqual([{ a: 1 }]);
  });

  it("a numeric body with a poisoning key goes to Fastify's parser, never the fast read", () => {
    const poisoned = read('[{"a": 1, "__proto__": 2}]');
    expect(poisoned.body).toBeUndefined();
    expect(poisoned.error).toMatch(/not valid JSON/);
    // "constructor" alone is not poisoning to Fastify: parsed, as JSON.parse gives it.
    const { body } = read('[{"a": 1, "constructor": 2}]');
    expect(body).not.toBeInstanceOf(NumericRecords);
    expect(body).toEqual([{ a: 1, constructor: 2 }]);
  });
});
