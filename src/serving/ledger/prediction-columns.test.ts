import { expect, it } from 'vitest';
import { type KeyedColumns, mergeColumns } from './prediction-columns.js';

/** A source page of rows served at these times (ids as the times, zero-padded). */
function pageAt(times: number[]): KeyedColumns {
  return {
    length: times.length,
    servedAt: Float64Array.from(times),
    answers: times.map(() => ({
      modelVersionId: 'mv',
      model: 'm',
      version: 1,
      role: 'champion' as const,
      outputs: null,
      shadow: null,
    })),
    labels: times.map(() => undefined),
    inputs: new Map([['x', Float64Array.from(times)]]),
    ids: times.map((t) => String(t).padStart(6, '0')),
  };
}

it('mergeColumns merges sources in time order and ends every source when the consumer stops early', async () => {
  const ended: string[] = [];
  const pulled: string[] = [];
  async function* source(name: string, pages: number[][]): AsyncIterable<KeyedColumns> {
    try {
      for (const p of pages) {
        pulled.push(`${name}:${p[0]}`);
        yield pageAt(p);
      }
    } finally {
      ended.push(name);
    }
  }
  const all: number[] = [];
  for await (const page of mergeColumns(
    [
      source('a', [
        [1, 4],
        [7, 9],
      ]),
      source('b', [[2, 3, 8]]),
    ],
    2,
  ))
    all.push(...page.servedAt);
  expect(all).toEqual([1, 2, 3, 4, 7, 8, 9]);
  expect(ended.sort()).toEqual(['a', 'b']);

  ended.length = 0;
  pulled.length = 0;
  for await (const page of mergeColumns(
    [source('a', [[1, 2], [3, 4], [5, 6], [7]]), source('b', [[10], [11]])],
    2,
  )) {
    expect([...page.servedAt]).toEqual([1, 2]);
    break;
  }
  // Stopped after one page: later pages were never pulled and both sources ran their cleanup.
  expect(pulled).toEqual(['a:1', 'b:10']);
  expect(ended.sort()).toEqual(['a', 'b']);
});
