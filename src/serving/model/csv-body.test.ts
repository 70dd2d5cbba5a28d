import { describe, expect, it } from 'vitest';
import { readCsvBody } from './csv-body.js';

describe('readCsvBody', () => {
  it('reads a header and rows; quoted cells keep commas, line breaks and doubled quotes', () => {
    const body = readCsvBody('\ufeffcity, note\r\n"Paris, FR","said ""hi""\nthen left"\nOslo,\n');
    expect(body.header).toEqual(['city', 'note']);
    expect(body.rows).toEqual([
      ['Paris, FR', 'said "hi"\nthen left'],
      ['Oslo', ''],
    ]);
  });

  it('refuses an empty body, a row of the wrong width (naming its line) and an unclosed quote', () => {
    expect(() => readCsvBody('')).toThrow(/header row/);
    expect(() => readCsvBody('a,b\n1,2\n3\n')).toThrow(/csv line 3 has 1 cells; the header has 2/);
    expect(() => readCsvBody('a\n"open')).toThrow(/not closed/);
  });
});
