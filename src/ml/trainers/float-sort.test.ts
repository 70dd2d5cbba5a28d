import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import { sortFloat64 } from './float-sort.js';

/** The two arrays' bits, as hex words, for a comparison that tells -0 from +0. */
function bits(values: Float64Array): string[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, 2 * values.length), (w) =>
    w.toString(16),
  );
}

function expectSortedLikeBuiltIn(values: Float64Array): void {
  const expected = values.slice().sort();
  const actual = sortFloat64(values.slice());
  expect(bits(actual)).toEqual(bits(expected));
}

describe('sortFloat64', () => {
  const random = seededRandom(11);
  const fill = (n: number, value: (k: number) => number) =>
    Float64Array.from({ length: n }, (_, k) => value(k));

  it('orders doubles of every sign and size exactly as Float64Array#sort, bit for bit', () => {
    expectSortedLikeBuiltIn(fill(20_000, () => (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20)));
    expectSortedLikeBuiltIn(fill(5_000, () => -random() * 1e300));
    // More than the thread keeps scratch for: this sort takes its own.
    expectSortedLikeBuiltIn(fill(140_000, () => (random() - 0.5) * 1e6));
  });

  it('keeps -0 before +0 and places infinities and subnormals where the built-in sort does', () => {
    const specials = [0, -0, Infinity, -Infinity, 5e-324, -5e-324, Number.MIN_VALUE * 7, -1, 1];
    expectSortedLikeBuiltIn(
      fill(4_000, (k) => specials[k % specials.length]! * (k % 3 === 0 ? 1 : random())),
    );
    expectSortedLikeBuiltIn(fill(3_000, (k) => (k % 2 === 0 ? 0 : -0)));
  });

  it('sorts values whose low words all match (skipped passes) and heavy duplicates', () => {
    // Small integers: every low word is 0, so three of the six passes move nothing.
    expectSortedLikeBuiltIn(fill(10_000, () => Math.floor(random() * 60) - 20));
    expectSortedLikeBuiltIn(fill(10_000, () => 42));
    expectSortedLikeBuiltIn(fill(10_000, (k) => 10_000 - k));
  });

  it('falls back to the built-in sort for short arrays and for NaN', () => {
    expectSortedLikeBuiltIn(fill(100, () => random() - 0.5));
    const withNaN = fill(2_000, (k) => (k % 97 === 0 ? Number.NaN : random() - 0.5));
    const sorted = sortFloat64(withNaN.slice());
    expect(bits(sorted)).toEqual(bits(withNaN.slice().sort()));
    expect(Number.isNaN(sorted[sorted.length - 1]!)).toBe(true);
  });

  it('sorts in place and returns the array it was given, for views into a bigger buffer too', () => {
    const buffer = new Float64Array(3_000).map(() => random());
    const view = buffer.subarray(1_000, 2_000);
    const expected = view.slice().sort();
    expect(sortFloat64(view)).toBe(view);
    expect(bits(view)).toEqual(bits(expected));
  });
});
