import type { PriceLookup } from '../prices/price-book.js';
import type { Resource } from '../prices/price-book.schema.js';
import type { AttributedUsageRow } from './attribution.repo.js';

/*
 * Allocation as OpenCost does it, per usage record:
 *   allocated = sum over resources of max(requested, used) x price
 *     cpu: core-seconds = max(requested cores x wall, cpu seconds)
 *     memory: GiB-seconds = max(requested bytes, peak bytes) / GiB x wall
 *     gpu: device-seconds held (a device is allocated whole while held)
 *     storage: GiB-months = bytes held / GiB x wall hours / 730
 *   idle = capacity - allocated, where capacity is known (an instance-hour priced deployment), else 0
 * A record that straddles the report's range counts for the overlapping fraction of its interval.
 * Amounts are integer micro-units from here on, so every sum is exact and the cents add up.
 */

const GIB = 2 ** 30;
/** Hours in a billing month (365 x 24 / 12), as cloud storage prices and OpenCost count them. */
export const HOURS_PER_MONTH = 730;
export const MICRO = 1_000_000;

export interface Allocation {
  /** Micro-units of currency. */
  allocated: number;
  idle: number;
  cpuHours: number;
  gpuHours: number;
  storageGibMonths: number;
  /** Resource names with usage but no price in force. */
  unpriced: string[];
}

/** The fraction of a record's interval inside [from, to): 1 for a zero-length record inside it. */
export function overlapFraction(startedAt: number, endedAt: number, from: number, to: number): number {
  if (endedAt <= startedAt) return startedAt >= from && startedAt < to ? 1 : 0;
  const lo = Math.max(startedAt, from);
  const hi = Math.min(endedAt, to);
  return hi <= lo ? 0 : (hi - lo) / (endedAt - startedAt);
}

/** Prices one usage record's part inside [from, to). */
export function allocate(row: AttributedUsageRow, prices: PriceLookup, from: number, to: number): Allocation {
  const f = overlapFraction(row.started_at, row.ended_at, from, to);
  const at = Math.max(row.started_at, from);
  const wall = row.wall_seconds * f;
  const unpriced: string[] = [];
  const cost = (resource: Resource, quantityHours: number, key: string | null = null): number => {
    if (!(quantityHours > 0)) return 0;
    const p = prices.price(resource, at, key);
    if (p === undefined) {
      unpriced.push(key ? `${resource}:${key}` : resource);
      return 0;
    }
    return quantityHours * p;
  };
  const cpuSeconds = Math.max((row.requested_cpus ?? 0) * wall, (row.cpu_seconds ?? 0) * f);
  const memGibSeconds = (Math.max(row.requested_memory_bytes ?? 0, row.peak_memory_bytes ?? 0) / GIB) * wall;
  const gpuSeconds = (row.gpu_seconds ?? 0) * f;
  const storageGibMonths = ((row.storage_bytes ?? 0) / GIB) * (wall / 3600 / HOURS_PER_MONTH);
  const allocated =
    cost('storage_gib_month', storageGibMonths) +
    cost('cpu_hour', cpuSeconds / 3600) +
    cost('memory_gib_hour', memGibSeconds / 3600) +
    cost('gpu_hour', gpuSeconds / 3600, row.gpu_model ?? '*');
  const capacity =
    row.instance_type && row.instance_seconds
      ? cost('instance_hour', (row.instance_seconds * f) / 3600, row.instance_type)
      : 0;
  const a = Math.round(allocated * MICRO);
  return {
    allocated: a,
    idle: Math.max(0, Math.round(capacity * MICRO) - a),
    cpuHours: cpuSeconds / 3600,
    gpuHours: gpuSeconds / 3600,
    storageGibMonths,
    unpriced,
  };
}

/**
 * Micro-unit amounts to cents that add up to the cents of their sum exactly: each is floored, and the
 * cents left over go to the largest remainders (ties to the earlier key, so the result is stable).
 */
export function centsAddingUp(micros: number[]): number[] {
  const PER_CENT = MICRO / 100;
  const total = Math.round(micros.reduce((s, m) => s + m, 0) / PER_CENT);
  const floors = micros.map((m) => Math.floor(m / PER_CENT));
  let left = total - floors.reduce((s, c) => s + c, 0);
  const order = micros
    .map((m, i) => ({ i, r: m - floors[i]! * PER_CENT }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    floors[i]!++;
    left--;
  }
  return floors;
}
