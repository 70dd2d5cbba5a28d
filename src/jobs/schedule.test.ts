import { describe, expect, it } from 'vitest';
import { isAppError } from '../core/errors.js';
import { laneOf, lanesFor } from './job-kind.js';
import { nextTick, parseCadence } from './schedule.js';

describe('schedule ticks', () => {
  it('periodic ticks are aligned to multiples of the period, so every process names a tick alike', () => {
    expect(nextTick({ everyMs: 1000 }, 12_345)).toBe(13_000);
    expect(nextTick({ everyMs: 1000 }, 13_000)).toBe(14_000);
  });

  it('cron ticks are in UTC, and a six-field cron counts seconds', () => {
    const after = Date.UTC(2026, 11, 3, 5, 59, 30);
    expect(new Date(nextTick({ cron: '0 6 * * *' }, after)).toISOString()).toBe('2026-12-03T06:00:00.000Z');
    expect(nextTick({ cron: '* * * * * *' }, after)).toBe(after + 1000);
  });

  it('a cadence must be exactly one of cron or everyMs, and well formed', () => {
    const fieldOf = (o: Parameters<typeof parseCadence>[0]) => {
      try {
        parseCadence(o);
      } catch (err) {
        return isAppError(err) ? err.details?.field : 'not an AppError';
      }
      return 'accepted';
    };
    expect(fieldOf({})).toBe('options.cron');
    expect(fieldOf({ cron: '0 6 * * *', everyMs: 1000 })).toBe('options.cron');
    expect(fieldOf({ cron: '61 * * * *' })).toBe('options.cron');
    expect(fieldOf({ everyMs: 1.5 })).toBe('options.everyMs');
    expect(fieldOf({ everyMs: 60_000 })).toBe('accepted');
  });
});

describe('lanes', () => {
  it('a job waits in its queue plus its sorted tags; a worker listens on every subset of its tags', () => {
    expect(laneOf('train', ['gpu', 'big'])).toBe('train@big+gpu');
    expect(lanesFor(['train'], ['gpu', 'big']).sort()).toEqual([
      'train',
      'train@big',
      'train@big+gpu',
      'train@gpu',
    ]);
    expect(lanesFor(['a', 'b'], [])).toEqual(['a', 'b']);
  });
});
