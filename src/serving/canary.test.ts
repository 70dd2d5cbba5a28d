import { describe, expect, it } from 'vitest';
import { canaryBucket, routesToChallenger } from './canary.js';

describe('canary routing', () => {
  it('puts a key in the same bucket in every process and release (replicas and restarts agree)', () => {
    // Written out by hand: a change to the hash would move live customers between models.
    expect(['customer-1', 'customer-2', '', 'é'].map(canaryBucket)).toEqual([2579, 7448, 9809, 7622]);
  });

  it('sends about percent of keys to the challenger, none at 0 and all at 100', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);
    const share = (p: number) => keys.filter((k) => routesToChallenger(k, p)).length / keys.length;
    expect(share(0)).toBe(0);
    expect(share(100)).toBe(1);
    for (const p of [1, 10, 50]) expect(Math.abs(share(p) - p / 100)).toBeLessThan(0.01);
  });

  it('raising the percentage only adds keys: nobody on the challenger is moved back', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    const at10 = keys.filter((k) => routesToChallenger(k, 10));
    expect(at10.every((k) => routesToChallenger(k, 25))).toBe(true);
  });
});
