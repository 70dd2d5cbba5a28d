import { sturgesBins } from '../../data/stats/index.js';
import { lowerBound } from './column-sample.js';
import { type NumericReference, referenceCountBelow } from './reference.js';

/** Counts of reference and current over the same bins (labels in the same order). */
export interface BinCounts {
  labels: string[];
  reference: number[];
  current: number[];
  /** Numeric bins only: the bins.length + 1 edges shared by both sides. */
  edges?: number[];
}

/** The most bins (or categories, "(other)" included) a stored histogram keeps. */
export const MAX_STORED_BINS = 20;

/** A histogram small enough to store on every skew point: what the report draws, reference vs current. */
export interface StoredHistogram {
  bins: string[];
  reference: number[];
  current: number[];
  edges?: number[];
}

/**
 * The bins the test used, made compact: numeric bins merged in runs of adjacent ones (edges kept at
 * the run boundaries), categories cut to the most frequent with the rest summed into "(other)". Counts
 * are only ever summed, so both sides keep their totals.
 */
export function compactBins(b: BinCounts, max = MAX_STORED_BINS): StoredHistogram {
  const n = b.labels.length;
  if (b.edges) {
    const step = Math.ceil(n / max);
    if (step <= 1) return { bins: b.labels, reference: b.reference, current: b.current, edges: b.edges };
    const out: Required<StoredHistogram> = { bins: [], reference: [], current: [], edges: [] };
    for (let k = 0; k < n; k += step) {
      const end = Math.min(n, k + step);
      const lo = b.edges[k] as number;
      const hi = b.edges[end] as number;
      out.edges.push(lo);
      out.bins.push(`[${fmt(lo)}, ${fmt(hi)}${end === n ? ']' : ')'}`);
      out.reference.push(sum(b.reference, k, end));
      out.current.push(sum(b.current, k, end));
    }
    out.edges.push(b.edges[n] as number);
    return out;
  }
  if (n <= max) return { bins: b.labels, reference: b.reference, current: b.current };
  const order = b.labels
    .map((label, i) => ({ label, i, total: (b.reference[i] ?? 0) + (b.current[i] ?? 0) }))
    .filter((x) => x.label !== OTHER)
    .sort((x, y) => y.total - x.total || x.label.localeCompare(y.label));
  const kept = order.slice(0, max - 1);
  const keptIdx = new Set(kept.map((x) => x.i));
  const rest = (side: number[]) => side.reduce((a, v, i) => a + (keptIdx.has(i) ? 0 : v), 0);
  return {
    bins: [...kept.map((x) => x.label), OTHER],
    reference: [...kept.map((x) => b.reference[x.i] as number), rest(b.reference)],
    current: [...kept.map((x) => b.current[x.i] as number), rest(b.current)],
  };
}

function sum(xs: number[], from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i] as number;
  return s;
}

const OTHER = '(other)';

/**
 * Category counts over the union of both sides' values; when the reference's list is incomplete (a
 * profile's top-k), what it leaves out goes to an "(other)" bucket.
 */
export function categoryCounts(
  ref: Map<string, number>,
  refRows: number,
  refComplete: boolean,
  cur: Map<string, number>,
): BinCounts {
  const labels = [...new Set([...ref.keys(), ...cur.keys()])].sort();
  const reference = labels.map((l) => ref.get(l) ?? 0);
  const current = labels.map((l) => cur.get(l) ?? 0);
  if (!refComplete) {
    const listed = reference.reduce((a, b) => a + b, 0);
    if (refRows > listed) {
      labels.push(OTHER);
      reference.push(refRows - listed);
      current.push(0);
    }
  }
  return { labels, reference, current };
}

/**
 * Equal-width bins over the combined range (Sturges' count, as Evidently bins PSI and Jensen-Shannon);
 * the reference counted from its sorted values or read off its sketch, the current counted exactly.
 */
export function numericCounts(ref: NumericReference, cur: Float64Array): BinCounts {
  const m = cur.length;
  const lo = Math.min(ref.min, m > 0 ? (cur[0] as number) : ref.min);
  const hi = Math.max(ref.max, m > 0 ? (cur[m - 1] as number) : ref.max);
  const bins = hi > lo ? sturgesBins(ref.rows, m) : 1;
  const width = (hi - lo) / bins;
  const labels: string[] = [];
  const reference: number[] = [];
  const current: number[] = [];
  const edges: number[] = [lo];
  let refPrev = 0;
  let curPrev = 0;
  for (let k = 0; k < bins; k++) {
    const last = k === bins - 1;
    const edge = lo + width * (k + 1);
    // [edge_k, edge_k+1) for every bin but the last, which is closed.
    const refBelow = last ? ref.rows : Math.min(ref.rows, referenceCountBelow(ref, edge));
    const curBelow = last ? m : lowerBound(cur, edge);
    labels.push(`[${fmt(lo + width * k)}, ${fmt(edge)}${last ? ']' : ')'}`);
    edges.push(last ? hi : edge);
    reference.push(Math.max(0, refBelow - refPrev));
    current.push(curBelow - curPrev);
    refPrev = Math.max(refPrev, refBelow);
    curPrev = curBelow;
  }
  return { labels, reference, current, edges };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}
