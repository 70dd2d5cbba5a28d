/*
 * Period arithmetic, UTC. A calendar budget is always in some period; a custom one only inside its
 * window. The forecast is linear on the period's spend so far: spent / elapsed * length; a check in
 * the first minute forecasts from one minute, so a first sample does not explode the figure.
 */

import type { BudgetPeriod } from './budget.schema.js';

export interface PeriodWindow {
  start: number;
  end: number;
}

const DAY_MS = 86_400_000;

/** The period containing `now`, or null for a custom window `now` is outside of. */
export function periodAt(
  b: { period: BudgetPeriod; start: number | null; end: number | null },
  now: number,
): PeriodWindow | null {
  const d = new Date(now);
  switch (b.period) {
    case 'day': {
      const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      return { start, end: start + DAY_MS };
    }
    case 'week': {
      const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      // getUTCDay: 0 is Sunday; ISO weeks start on Monday.
      const start = midnight - ((d.getUTCDay() + 6) % 7) * DAY_MS;
      return { start, end: start + 7 * DAY_MS };
    }
    case 'month':
      return {
        start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
        end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
      };
    case 'custom':
      if (b.start === null || b.end === null || now < b.start || now >= b.end) return null;
      return { start: b.start, end: b.end };
  }
}

const MIN_ELAPSED_MS = 60_000;

/** Spend at the period's end if it goes on at the rate so far. */
export function linearForecast(spent: number, window: PeriodWindow, now: number): number {
  const elapsed = Math.max(MIN_ELAPSED_MS, Math.min(now, window.end) - window.start);
  return (spent / elapsed) * (window.end - window.start);
}
