import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import {
  ksSketchErrorBound,
  ksSketchVsSorted,
  ksStatisticSorted,
  sortFloat64,
  wassersteinSketchErrorBound,
  wassersteinSketchVsSorted,
  wassersteinSorted,
} from './index.js';

// The sketch a profile stores: 101 quantiles, linear interpolation between order statistics.
function sketchOf(sorted: Float64Array): number[] {
  return Array.from({ length: 101 }, (_, k) => {
    const h = (sorted.length - 1) * (k / 100);
    const lo = Math.floor(h);
    const a = sorted[lo] as number;
    return a + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] as number) - a);
  });
}

const generators: Record<string, (r: () => number) => number> = {
  normal: (r) => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r()),
  exponential: (r) => -Math.log(Math.max(r(), 1e-12)),
  'heavy tail (pareto)': (r) => 1 / Math.max(r(), 1e-6) ** 0.8,
  'ties (integers 0..9)': (r) => Math.floor(r() * 10),
  bimodal: (r) => (r() < 0.3 ? -3 : 2) + r(),
};

function sample(
  gen: (r: () => number) => number,
  n: number,
  seed: number,
  shift = 0,
  scale = 1,
): Float64Array {
  const r = seededRandom(seed);
  return Float64Array.from({ length: n }, () => gen(r) * scale + shift).sort();
}

describe('KS and Wasserstein from a reference sketch stay within the stated bound of the raw answer', () => {
  it.each(Object.entries(generators))('%s', (_, gen) => {
    const ref = sample(gen, 30000, 1);
    const sketch = sketchOf(ref);
    for (const [seed, shift, scale] of [
      [2, 0, 1],
      [3, 0.3, 1],
      [4, 0, 1.5],
      [5, -1, 0.7],
    ] as const) {
      const cur = sample(gen, 4000, seed, shift, scale);
      const dExact = ksStatisticSorted(ref, cur);
      const dSketch = ksSketchVsSorted(sketch, cur);
      expect(Math.abs(dSketch - dExact)).toBeLessThanOrEqual(ksSketchErrorBound(sketch.length));
      const wExact = wassersteinSorted(ref, cur);
      const wSketch = wassersteinSketchVsSorted(sketch, cur);
      expect(Math.abs(wSketch - wExact)).toBeLessThanOrEqual(wassersteinSketchErrorBound(sketch));
    }
  });

  it('the bounds are the stated formulas', () => {
    expect(ksSketchErrorBound(101)).toBe(0.01);
    expect(wassersteinSketchErrorBound(Array.from({ length: 101 }, (_, k) => k * 2))).toBe(1);
  });

  it('a sample equal to the sketch points is at distance 0 from it', () => {
    const sketch = Array.from({ length: 101 }, (_, k) => k);
    const cur = Float64Array.from({ length: 100001 }, (_, i) => i / 1000);
    expect(ksSketchVsSorted(sketch, cur)).toBeLessThan(1e-4);
    expect(wassersteinSketchVsSorted(sketch, cur)).toBeLessThan(1e-2);
  });
});

describe('sortFloat64 (radix for large arrays)', () => {
  it('sorts as the native numeric sort: negatives, infinities, duplicates, tiny and huge values', () => {
    const r = seededRandom(42);
    const specials = [
      0,
      -0,
      1e-310,
      -1e-310,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      Infinity,
      -Infinity,
      5,
      5,
      -5,
    ];
    const values = Float64Array.from({ length: 20000 }, (_, i) =>
      i < specials.length ? (specials[i] as number) : (r() - 0.5) * 10 ** Math.floor(r() * 12 - 6),
    );
    const expected = Float64Array.from(values).sort();
    const actual = sortFloat64(Float64Array.from(values));
    expect(Array.from(actual, (x) => x + 0)).toEqual(Array.from(expected, (x) => x + 0));
  });
});
