import { assertNever } from '../../core/errors.js';
import type { MetricPoint } from '../metric-point.schema.js';
import type { AlertCondition, AlertRule, Comparator } from './alert-rule.schema.js';

/*
 * Pure rule logic: which points a rule watches, whether one point holds its condition, and whether a
 * series holds it for the rule's N consecutive windows. A point with status insufficient_data never
 * holds a condition (no rows is never an alarm) and never clears one either (no rows is no all-clear).
 */

/** A series of one rule: the points of one feature and slice. */
export interface SeriesKey {
  feature: string | null;
  slice: string | null;
}

/** Where a series stands at its latest point. */
export type SeriesVerdict = 'holds' | 'pending' | 'clear' | 'unknown';

/** Whether the rule looks at this point (metric, and its feature / slice filters when it has them). */
export function ruleWatches(rule: AlertRule, p: MetricPoint): boolean {
  if (p.metric !== rule.metric) return false;
  if (rule.feature !== undefined && p.feature !== rule.feature) return false;
  if (rule.slice !== undefined && p.slice !== rule.slice) return false;
  return true;
}

function compare(op: Comparator, value: number, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
    default:
      return assertNever(op);
  }
}

/** Whether one point holds the condition; undefined when it cannot say (insufficient data, no value). */
export function conditionHolds(c: AlertCondition, p: MetricPoint): boolean | undefined {
  if (p.status === 'insufficient_data') return undefined;
  if (c.status !== undefined) return c.status === 'warning' ? p.status !== 'ok' : p.status === 'alert';
  if (p.value === null || !Number.isFinite(p.value)) return undefined;
  return compare(c.op!, p.value, c.threshold!);
}

/** The condition in words, for lists and notifications: `> 0.2`, `status alert`. */
export function describeCondition(c: AlertCondition): string {
  return c.status !== undefined ? `status ${c.status}` : `${c.op} ${c.threshold}`;
}

/**
 * The verdict of one series from its points, oldest first (one point per window). holds: the latest
 * `for` windows all hold; pending: the latest holds but the streak is shorter; clear: the latest does
 * not hold; unknown: the latest cannot say.
 */
export function seriesVerdict(rule: AlertRule, points: readonly MetricPoint[]): SeriesVerdict {
  const last = points.at(-1);
  if (!last) return 'unknown';
  const now = conditionHolds(rule.condition, last);
  if (now === undefined) return 'unknown';
  if (!now) return 'clear';
  let streak = 0;
  for (let i = points.length - 1; i >= 0 && conditionHolds(rule.condition, points[i]!) === true; i--)
    streak++;
  return streak >= rule.for ? 'holds' : 'pending';
}

/** A series' identity as a string (feature and slice, null kept apart from any name). */
export function seriesId(k: SeriesKey): string {
  return JSON.stringify([k.feature, k.slice]);
}
