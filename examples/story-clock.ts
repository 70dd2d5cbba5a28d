/*
 * The stories' clock: real time, shifted. A story that happened "three months ago" or "over the last
 * five weeks" opens its workspace with this clock and travels to each moment before acting, so every
 * record it writes (audit entries, alias moves, predictions, labels, monitor windows) carries the time
 * it would have carried; `present()` comes back to now. Only forward or back to the present between
 * stories: within one story the clock only moves forward.
 */
import type { Clock } from '../src/core/clock.js';

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

export interface StoryClock extends Clock {
  /** Sets the clock to `at` (epoch ms); it then runs on at real speed from there. */
  travelTo(at: number): void;
  /** Back to real time. */
  present(): void;
  /** How far behind real time the clock is (ms, 0 in the present). */
  lag(): number;
}

/** A clock that runs at real speed, at an offset a story moves. */
export function storyClock(): StoryClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    travelTo: (at) => {
      offset = at - Date.now();
    },
    present: () => {
      offset = 0;
    },
    lag: () => -offset,
  };
}

/** The same day and time `months` calendar months before `from` (UTC). */
export function monthsBefore(from: number, months: number): number {
  const d = new Date(from);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d.getTime();
}
