import { describe, expect, it } from 'vitest';
import { recordMaker } from './record-maker.js';

describe('recordMaker', () => {
  it('makes the object JSON.parse makes of the same keys and values, whatever the names hold', () => {
    const names = [
      'a',
      '__proto__',
      'quote"d',
      'back\\slash',
      'line\u2028sep',
      'é',
      '10',
      '2',
      'constructor',
      `\`${'$'}{x}`,
      "');",
    ];
    const values = names.map((_, j) => j * 1.5);
    const made = recordMaker(names)([0, ...values], 1);
    const json = JSON.parse(
      `{${names.map((n, j) => `${JSON.stringify(n)}:${values[j]}`).join(',')}}`,
    ) as object;
    expect(Object.getPrototypeOf(made)).toBe(Object.prototype);
    expect(Object.keys(made)).toEqual(Object.keys(json));
    expect(JSON.stringify(made)).toBe(JSON.stringify(json));
    expect(Object.hasOwn(made, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(made, '__proto__')?.value).toBe(1.5);
  });

  it('a name listed twice keeps its first place and its last value, as in JSON.parse', () => {
    const made = recordMaker(['a', 'b', 'a'])([1, 2, 3], 0);
    expect(JSON.stringify(made)).toBe(JSON.stringify(JSON.parse('{"a":1,"b":2,"a":3}')));
  });
});
