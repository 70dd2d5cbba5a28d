import { ValidationError } from '../core/errors.js';
import { seededRandom } from '../core/random.js';

/*
 * Which params each trial of a sweep gets: the cartesian product of a grid (in the order given), or N
 * random draws from ranges, seeded so the same sweep draws the same trials.
 */

export interface ParamRange {
  lo: number;
  hi: number;
  /** Draw log-uniformly (learning rates, penalties). */
  log: boolean;
  /** Both bounds written as whole numbers: draws are rounded (tree counts, depths). */
  integer: boolean;
}

/** Parses `k=v1,v2,...` options into a grid. */
export function parseGrid(pairs: string[]): Record<string, string[]> {
  const grid: Record<string, string[]> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    const values =
      i > 0
        ? p
            .slice(i + 1)
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean)
        : [];
    if (i <= 0 || values.length === 0)
      throw new ValidationError(`--grid: expected name=v1,v2,... but got '${p}'`, { field: 'grid' });
    grid[p.slice(0, i)] = values;
  }
  return grid;
}

/** Parses `k=lo:hi[:log]` options into ranges. */
export function parseRanges(pairs: string[]): Record<string, ParamRange> {
  const ranges: Record<string, ParamRange> = {};
  for (const p of pairs) {
    const m = /^([^=]+)=([^:]+):([^:]+)(?::(log))?$/.exec(p);
    const lo = m ? Number(m[2]) : Number.NaN;
    const hi = m ? Number(m[3]) : Number.NaN;
    if (!m || !Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi)
      throw new ValidationError(`--param-range: expected name=lo:hi[:log] with lo <= hi, got '${p}'`, {
        field: 'paramRange',
      });
    const log = m[4] === 'log';
    if (log && lo <= 0)
      throw new ValidationError(`--param-range: a log range needs lo > 0, got '${p}'`, {
        field: 'paramRange',
      });
    ranges[m[1]!] = { lo, hi, log, integer: /^-?\d+$/.test(m[2]!.trim()) && /^-?\d+$/.test(m[3]!.trim()) };
  }
  return ranges;
}

/** Every combination of the grid's values; the first key varies slowest. */
export function gridTrials(grid: Record<string, string[]>): Record<string, string>[] {
  let trials: Record<string, string>[] = [{}];
  for (const [k, values] of Object.entries(grid)) {
    trials = trials.flatMap((t) => values.map((v) => ({ ...t, [k]: v })));
  }
  return trials;
}

/** `count` seeded draws from the ranges. */
export function randomTrials(
  ranges: Record<string, ParamRange>,
  count: number,
  seed: number,
): Record<string, string>[] {
  if (!Number.isInteger(count) || count < 1)
    throw new ValidationError(`--random: must be a positive integer, got '${count}'`, { field: 'random' });
  const rand = seededRandom(seed ^ 0x5eed);
  return Array.from({ length: count }, () => {
    const t: Record<string, string> = {};
    for (const [k, r] of Object.entries(ranges)) {
      const u = rand();
      let v = r.log
        ? Math.exp(Math.log(r.lo) + u * (Math.log(r.hi) - Math.log(r.lo)))
        : r.lo + u * (r.hi - r.lo);
      v = r.integer ? Math.round(v) : Number(v.toPrecision(6));
      t[k] = String(v);
    }
    return t;
  });
}
