import { describe, expect, it } from 'vitest';
import { compactBins, MAX_STORED_BINS } from './drift-bins.js';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('compactBins', () => {
  it('merges 45 numeric bins into runs of adjacent ones, keeping both totals and the outer edges', () => {
    const edges = Array.from({ length: 46 }, (_, i) => i * 2);
    const reference = Array.from({ length: 45 }, (_, i) => i + 1);
    const current = Array.from({ length: 45 }, (_, i) => 45 - i);
    const labels = reference.map((_, i) => `b${i}`);
    const h = compactBins({ labels, reference, current, edges });
    expect(h.bins.length).toBeLessThanOrEqual(MAX_STORED_BINS);
    expect(h.bins).toHaveLength(15);
    expect(h.edges).toEqual([0, 6, 12, 18, 24, 30, 36, 42, 48, 54, 60, 66, 72, 78, 84, 90]);
    expect(h.reference[0]).toBe(1 + 2 + 3);
    expect(sum(h.reference)).toBe(sum(reference));
    expect(sum(h.current)).toBe(sum(current));
    expect(h.bins.at(-1)).toBe('[84, 90]');
  });

  it('keeps the 19 most frequent of 30 categories and sums the rest (and any earlier "(other)") into "(other)"', () => {
    const labels = [...Array.from({ length: 30 }, (_, i) => `c${i}`), '(other)'];
    const reference = [...Array.from({ length: 30 }, (_, i) => i), 7];
    const current = Array.from({ length: 31 }, () => 1);
    const h = compactBins({ labels, reference, current });
    expect(h.bins).toHaveLength(20);
    expect(h.bins[0]).toBe('c29');
    expect(h.bins.at(-1)).toBe('(other)');
    expect(h.bins).not.toContain('c0');
    expect(sum(h.reference)).toBe(sum(reference));
    expect(sum(h.current)).toBe(31);
    expect(h.edges).toBeUndefined();
  });

  it('leaves a small histogram as it is', () => {
    const b = { labels: ['a', 'b'], reference: [1, 2], current: [3, 4] };
    expect(compactBins(b)).toEqual({ bins: ['a', 'b'], reference: [1, 2], current: [3, 4] });
  });
});
