import { ValidationError } from '../../core/errors.js';
import {
  decodeRegisters,
  encodeRegisters,
  estimateDistinct,
  HLL_REGISTERS,
  mergeRegisters,
} from './hyperloglog.js';
import { mergeSketches, summaryQuantiles } from './quantile-sketch.js';
import type { ColumnProfile, ColumnType, Histogram, Scalar, TableProfile, TopValue } from './table.schema.js';
import { HISTOGRAM_BINS, TOP_K } from './table-profiler.js';

/**
 * The profile of the union of two tables' rows, from their profiles alone. Exact: counts, nulls,
 * min, max, mean, std (Chan's parallel formula). Approximate: distinct (HyperLogLog, exact when both
 * top-k lists are complete), quantiles (mixture of the sketches), histogram (bins re-spread uniformly
 * onto common edges), top-k counts (a value outside one side's top-k counts 0 from that side).
 * A column present on one side only counts the other side's rows as nulls.
 */
export function mergeProfiles(a: TableProfile, b: TableProfile): TableProfile {
  const names = [
    ...a.columns.map((c) => c.name),
    ...b.columns.map((c) => c.name).filter((n) => !a.columns.some((c) => c.name === n)),
  ];
  const columns = names.map((name) => {
    const ca = a.columns.find((c) => c.name === name);
    const cb = b.columns.find((c) => c.name === name);
    if (!ca) return padNulls(cb as ColumnProfile, a.rowCount);
    if (!cb) return padNulls(ca, b.rowCount);
    return mergeColumn(ca, cb);
  });
  return { version: 1, rowCount: a.rowCount + b.rowCount, columns };
}

function padNulls(c: ColumnProfile, extraRows: number): ColumnProfile {
  return { ...c, count: c.count + extraRows, nulls: c.nulls + extraRows };
}

function mergedType(a: ColumnProfile, b: ColumnProfile): ColumnType {
  if (a.type === b.type) return a.type;
  const numeric = new Set<ColumnType>(['integer', 'float']);
  if (numeric.has(a.type) && numeric.has(b.type)) return 'float';
  throw new ValidationError(
    `column '${a.name}' is ${a.type} on one side and ${b.type} on the other; profiles cannot merge`,
    {
      field: 'columns',
      column: a.name,
    },
  );
}

function mergeColumn(a: ColumnProfile, b: ColumnProfile): ColumnProfile {
  const type = mergedType(a, b);
  const na = a.count - a.nulls;
  const nb = b.count - b.nulls;
  const n = na + nb;
  const hll = mergeRegisters(decodeRegisters(a.hll), decodeRegisters(b.hll));
  const out: ColumnProfile = {
    name: a.name,
    type,
    count: a.count + b.count,
    nulls: a.nulls + b.nulls,
    distinct: Math.min(
      n,
      estimateDistinct(hll.length === HLL_REGISTERS ? hll : new Uint8Array(HLL_REGISTERS)),
    ),
    hll: encodeRegisters(hll),
  };
  const min = pick(a.min, b.min, (x, y) => x < y);
  const max = pick(a.max, b.max, (x, y) => x > y);
  if (min !== undefined) out.min = min;
  if (max !== undefined) out.max = max;
  if ((type === 'integer' || type === 'float') && n > 0) {
    const ma = a.mean ?? 0;
    const mb = b.mean ?? 0;
    const delta = mb - ma;
    out.mean = ma + (delta * nb) / n;
    out.m2 = (a.m2 ?? 0) + (b.m2 ?? 0) + (delta * delta * na * nb) / n;
    out.std = n > 1 ? Math.sqrt(out.m2 / (n - 1)) : 0;
    const sketch = mergeSketches(a.sketch ?? [], na, b.sketch ?? [], nb);
    if (sketch.length > 0) {
      out.sketch = sketch;
      out.quantiles = summaryQuantiles(sketch);
    }
    if (typeof out.min === 'number' && typeof out.max === 'number') {
      out.histogram = mergeHistograms(a.histogram, b.histogram, out.min, out.max);
    }
  }
  if (a.topK || b.topK) {
    const { topK, complete } = mergeTopK(a, b);
    out.topK = topK;
    out.topKComplete = complete;
    if (complete) out.distinct = topK.length;
  }
  return out;
}

function pick(
  x: Scalar | undefined,
  y: Scalar | undefined,
  better: (x: number | string, y: number | string) => boolean,
): Scalar | undefined {
  if (x === undefined || x === null) return y;
  if (y === undefined || y === null) return x;
  if (typeof x === 'boolean' || typeof y === 'boolean') return x;
  if (typeof x !== typeof y) return better(Number(x), Number(y)) ? x : y;
  return better(x, y) ? x : y;
}

/** Both histograms re-spread onto HISTOGRAM_BINS equal bins over [min, max], mass uniform inside a bin. */
export function mergeHistograms(
  a: Histogram | undefined,
  b: Histogram | undefined,
  min: number,
  max: number,
): Histogram {
  const bins = max > min ? HISTOGRAM_BINS : 1;
  const width = max > min ? (max - min) / bins : 1;
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? max : min + k * width));
  const counts = new Array<number>(bins).fill(0);
  for (const h of [a, b]) {
    if (!h) continue;
    h.counts.forEach((count, i) => {
      const lo = h.edges[i] as number;
      const hi = h.edges[i + 1] as number;
      if (count === 0) return;
      if (hi <= lo || bins === 1) {
        const k = Math.min(bins - 1, Math.max(0, Math.floor((lo - min) / width)));
        counts[k] = (counts[k] ?? 0) + count;
        return;
      }
      for (let k = 0; k < bins; k++) {
        const overlap = Math.min(hi, edges[k + 1] as number) - Math.max(lo, edges[k] as number);
        if (overlap > 0) counts[k] = (counts[k] ?? 0) + (count * overlap) / (hi - lo);
      }
    });
  }
  return { edges, counts: counts.map((c) => Math.round(c * 1e6) / 1e6) };
}

function mergeTopK(a: ColumnProfile, b: ColumnProfile): { topK: TopValue[]; complete: boolean } {
  const sums = new Map<string, number>();
  for (const t of [...(a.topK ?? []), ...(b.topK ?? [])])
    sums.set(t.value, (sums.get(t.value) ?? 0) + t.count);
  const all = [...sums]
    .map(([value, count]) => ({ value, count }))
    .sort((x, y) => y.count - x.count || (x.value < y.value ? -1 : 1));
  const complete = (a.topKComplete ?? false) && (b.topKComplete ?? false) && all.length <= TOP_K;
  return { topK: all.slice(0, TOP_K), complete };
}
