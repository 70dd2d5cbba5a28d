import cronParser from 'cron-parser';
import { ValidationError } from '../core/errors.js';

/** When a schedule fires: a cron expression (UTC) or a fixed period. */
export type Cadence = { cron: string } | { everyMs: number };

/** Checks the cadence of repeat() options (ValidationError naming the field). */
export function parseCadence(o: { cron?: string | undefined; everyMs?: number | undefined }): Cadence {
  if ((o.cron === undefined) === (o.everyMs === undefined))
    throw new ValidationError('options: give exactly one of cron or everyMs', { field: 'options.cron' });
  if (o.everyMs !== undefined) {
    if (!Number.isInteger(o.everyMs) || o.everyMs < 10)
      throw new ValidationError('options.everyMs: a whole number of ms, at least 10', {
        field: 'options.everyMs',
      });
    return { everyMs: o.everyMs };
  }
  const cron = o.cron as string;
  try {
    cronParser.parseExpression(cron, { tz: 'UTC' });
  } catch (err) {
    throw new ValidationError(
      `options.cron: '${cron}' is not a cron expression (${(err as Error).message})`,
      {
        field: 'options.cron',
      },
    );
  }
  return { cron };
}

/**
 * The first tick strictly after `after`. Ticks of a period are aligned to multiples of it, so every
 * process computes the same ticks, and a tick's time names it (the idempotency key of its job).
 */
export function nextTick(cadence: Cadence, after: number): number {
  if ('everyMs' in cadence) return Math.floor(after / cadence.everyMs) * cadence.everyMs + cadence.everyMs;
  return cronParser
    .parseExpression(cadence.cron, { currentDate: new Date(after), tz: 'UTC' })
    .next()
    .getTime();
}
