import { Option } from 'commander';
import { ValidationError } from '../core/errors.js';

/** The most one page of a listing holds (the server's bound on `limit`; tracking's is MLflow's 50,000). */
export const LIST_MAX = 1000;
export const TRACKING_LIST_MAX = 50_000;

/**
 * A whole number >= 1 (and <= max, when given) from a flag; the error names the flag as the user
 * typed it, never the field the API calls it (`max_results`, `querystring.limit`).
 */
export function positiveInt(value: string, flag: string, max?: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1)
    throw new ValidationError(`${flag}: '${value}' is not a positive whole number`, { field: flag });
  if (max !== undefined && n > max)
    throw new ValidationError(
      `${flag}: '${value}' is more than ${formatMax(max)}, the most one listing returns`,
      {
        field: flag,
        max,
      },
    );
  return n;
}

function formatMax(n: number): string {
  return n.toLocaleString('en-US');
}

/** `--limit <n>`, the one name every listing uses for "at most this many". */
export function limitOption(fallback: number): Option {
  return new Option('--limit <n>', 'at most this many').default(String(fallback));
}

/** `--max <n>`, the old name of --limit on `runs ls` and `experiments ls`: still accepted, not shown. */
export function maxAlias(): Option {
  return new Option('--max <n>', 'old name of --limit').hideHelp();
}

/** The value of the listing's limit, from --limit or its old name --max, checked. */
export function limitOf(o: { limit: string; max?: string }, max = TRACKING_LIST_MAX): number {
  return o.max !== undefined ? positiveInt(o.max, '--max', max) : positiveInt(o.limit, '--limit', max);
}

/** `--null-values 'NA,-,?'`: comma-separated cell texts; whitespace around each is part of no token. */
export function parseNullValues(text: string): string[] {
  const tokens = text.split(',').map((t) => t.trim());
  if (tokens.some((t) => t === '') && text.trim() !== '')
    throw new ValidationError(
      `--null-values: '${text}' has an empty token; list the texts separated by commas, e.g. 'NA,-,?' (an empty cell is always null)`,
      { field: 'null-values' },
    );
  return text.trim() === '' ? [] : tokens;
}
