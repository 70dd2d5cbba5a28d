import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeClock, toIso } from './clock.js';
import { mapLimit } from './concurrency.js';
import { loadConfig } from './config.js';
import {
  AppError,
  exitCodeFor,
  httpStatusFor,
  isAppError,
  NotFoundError,
  ValidationError,
} from './errors.js';
import { canonicalJson, digestOf, digestsEqual, hmacSha256Hex, isSha256Hex, sha256Hex } from './hashing.js';
import { newId } from './ids.js';

describe('config', () => {
  it('defaults to the embedded laptop setup under SEXTANT_HOME', () => {
    const c = loadConfig({ SEXTANT_HOME: '/tmp/ws' });
    expect(c.databaseUrl).toBe(`sqlite:${path.join('/tmp/ws', 'sextant.db')}`);
    expect(c.blobUrl).toBe(`file:${path.join('/tmp/ws', 'blobs')}`);
    expect(c).toMatchObject({ host: '127.0.0.1', port: 5005, authMode: 'off' });
    expect(c.redisUrl).toBeUndefined();
    // The prediction log is kept as segments (issue 19); `table` is the opt-out.
    expect(c.predictionLog).toMatchObject({
      storage: 'segments',
      dir: path.join('/tmp/ws', 'prediction-log'),
    });
    expect(loadConfig({ SEXTANT_PREDICTION_LOG: 'table' }).predictionLog.storage).toBe('table');
  });

  it('takes the scale-out settings as given', () => {
    const c = loadConfig({
      SEXTANT_DATABASE_URL: 'postgres://db/x',
      SEXTANT_BLOB_URL: 's3://bucket/p',
      SEXTANT_REDIS_URL: 'redis://r:6379',
      SEXTANT_PORT: '8080',
      SEXTANT_AUTH: 'token',
    });
    expect(c).toMatchObject({
      databaseUrl: 'postgres://db/x',
      blobUrl: 's3://bucket/p',
      redisUrl: 'redis://r:6379',
      port: 8080,
      authMode: 'token',
    });
  });

  it('refuses a bad value with an error naming the variable', () => {
    expect(() => loadConfig({ SEXTANT_PORT: 'eighty' })).toThrow(/SEXTANT_PORT/);
    expect(() => loadConfig({ SEXTANT_AUTH: 'maybe' })).toThrow(ValidationError);
  });
});

describe('errors', () => {
  it('carry a code, an HTTP status and a CLI exit code', () => {
    const e = new NotFoundError('run', 'run_x');
    expect(e).toMatchObject({ code: 'NOT_FOUND', status: 404, message: "run 'run_x' does not exist" });
    expect(exitCodeFor(e.code)).toBe(3);
    expect(httpStatusFor('PAYLOAD_TOO_LARGE')).toBe(413);
  });

  it('are recognised by shape, also when they crossed a boundary as plain objects', () => {
    expect(isAppError({ code: 'CONFLICT', message: 'x' })).toBe(true);
    expect(isAppError({ code: 'ENOENT', message: 'x' })).toBe(false);
    expect(isAppError(new Error('plain'))).toBe(false);
    expect(new AppError('FORBIDDEN', 'no', { permission: 'write' }).toJSON()).toEqual({
      code: 'FORBIDDEN',
      message: 'no',
      details: { permission: 'write' },
    });
  });
});

describe('ids', () => {
  it('are prefixed and sort by creation time, also within one millisecond', () => {
    const ids = Array.from({ length: 50 }, () => newId('run', 1_700_000_000_000));
    expect(ids.every((id) => /^run_[0-9a-z]{26}$/.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(newId('run', 1_700_000_000_001) > ids.at(-1)!).toBe(true);
    expect(new Set(ids).size).toBe(50);
  });
});

describe('hashing', () => {
  it('canonical JSON does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}',
    );
    expect(digestOf({ a: 1, b: 2 })).toBe(digestOf({ b: 2, a: 1 }));
    expect(digestOf({ a: 1 })).not.toBe(digestOf({ a: 2 }));
  });

  it('sha256 and HMAC match known vectors', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hmacSha256Hex('key', 'The quick brown fox jumps over the lazy dog')).toBe(
      'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
    expect(isSha256Hex(sha256Hex('x'))).toBe(true);
    expect(isSha256Hex('ABC')).toBe(false);
  });

  it('compares digests in constant time and never equates empty or different lengths', () => {
    const d = sha256Hex('x');
    expect(digestsEqual(d, d)).toBe(true);
    expect(digestsEqual(d, sha256Hex('y'))).toBe(false);
    expect(digestsEqual('', '')).toBe(false);
    expect(digestsEqual(d, d.slice(0, 10))).toBe(false);
  });
});

describe('clock', () => {
  it('a fake clock moves only when told', () => {
    const c = fakeClock(Date.UTC(2026, 2, 1, 12));
    expect(toIso(c.now())).toBe('2026-03-01T12:00:00.000Z');
    c.advance(1500);
    expect(c.now()).toBe(Date.UTC(2026, 2, 1, 12) + 1500);
  });
});

describe('mapLimit', () => {
  it('keeps the input order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([30, 5, 20, 1, 10, 2], 2, async (ms) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return ms * 2;
    });
    expect(out).toEqual([60, 10, 40, 2, 20, 4]);
    expect(peak).toBe(2);
  });
});
