import { decodeTime, isValid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { newId, newIds } from './ids.js';

const body = (id: string) => id.slice(id.indexOf('_') + 1);

describe('ids', () => {
  it('are a prefix and a lower-case ULID that carries the given time', () => {
    const now = Date.UTC(2026, 10, 26, 12, 0, 0, 123);
    const id = newId('pred', now);
    expect(id).toMatch(/^pred_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(isValid(body(id).toUpperCase())).toBe(true);
    expect(decodeTime(body(id).toUpperCase())).toBe(now);
  });

  it('increase strictly within one millisecond, across milliseconds and when the clock goes back', () => {
    const t = Date.UTC(2030, 0, 1);
    const ids = [
      newId('pred', t),
      ...newIds('pred', 500, t),
      newId('pred', t),
      ...newIds('pred', 3, t + 1),
      newId('pred', t - 50),
      ...newIds('pred', 2, t + 2),
    ];
    for (let i = 1; i < ids.length; i++) expect((ids[i] as string) > (ids[i - 1] as string)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(decodeTime(body(ids[ids.length - 1] as string).toUpperCase())).toBe(t + 2);
  });

  it('count up by one within a millisecond: the 80 random bits read back as consecutive numbers', () => {
    const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
    const bits = (id: string) =>
      [...body(id).slice(10)].reduce((n, c) => n * 32n + BigInt(alphabet.indexOf(c)), 0n);
    const ids = newIds('pred', 2_000, Date.UTC(2032, 0, 1));
    for (let i = 1; i < ids.length; i++) expect(bits(ids[i]!) - bits(ids[i - 1]!)).toBe(1n);
  });

  it('draw fresh randomness each new millisecond', () => {
    const a = newIds('run', 1, Date.UTC(2031, 0, 1))[0] as string;
    const b = newIds('run', 1, Date.UTC(2031, 0, 1, 0, 0, 0, 1))[0] as string;
    expect(body(a).slice(10)).not.toBe(body(b).slice(10));
    expect(newIds('dep', 0)).toEqual([]);
  });
});
