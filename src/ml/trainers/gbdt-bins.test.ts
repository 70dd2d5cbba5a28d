import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import { binColumn } from './gbdt-bins.js';

/** The bin by definition: the first b with x <= thresholds[b], else thresholds.length (NaN too). */
function firstAtOrAbove(x: number, thresholds: Float64Array): number {
  for (let b = 0; b < thresholds.length; b++) if (x <= thresholds[b]!) return b;
  return thresholds.length;
}

function expectBinsByDefinition(values: Float64Array, thresholds: Float64Array, wide = false): void {
  const column = wide ? new Uint16Array(values.length) : new Uint8Array(values.length);
  binColumn(values, thresholds, column);
  expect(Array.from(column)).toEqual(Array.from(values, (x) => firstAtOrAbove(x, thresholds)));
}

describe('binColumn', () => {
  const random = seededRandom(5);
  const sortedThresholds = (count: number) =>
    Float64Array.from({ length: count }, () => (random() - 0.5) * 100).sort();

  it('puts each value in the first bin whose threshold is at or above it, four at a time and the rest', () => {
    // Threshold counts around powers of two (the search's steps) and row counts that leave 0-3 over.
    for (const count of [1, 2, 3, 7, 8, 9, 127, 128, 254, 255]) {
      const thresholds = sortedThresholds(count);
      for (const n of [0, 1, 3, 4, 5, 1_001, 1_002, 1_003]) {
        const values = Float64Array.from({ length: n }, (_, i) =>
          // Values on a threshold exactly, below and above them all, and in between.
          i % 5 === 0 ? thresholds[i % count]! : (random() - 0.5) * 120,
        );
        expectBinsByDefinition(values, thresholds);
      }
    }
  });

  it('bins NaN and +Infinity above every threshold, -Infinity into bin 0, and anything into bin 0 without thresholds', () => {
    const values = Float64Array.from([Number.NaN, Infinity, -Infinity, 0, Number.NaN, 3, -3, 1e300, -0]);
    expectBinsByDefinition(values, sortedThresholds(20));
    expectBinsByDefinition(values, new Float64Array(0));
  });

  it('fills 16-bit columns for more than 255 thresholds', () => {
    const thresholds = sortedThresholds(1_000);
    const values = Float64Array.from({ length: 4_003 }, () => (random() - 0.5) * 110);
    expectBinsByDefinition(values, thresholds, true);
  });
});
