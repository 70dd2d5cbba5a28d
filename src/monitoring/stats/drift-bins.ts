import { sturgesBins } from '../../data/stats/index.js';
import { lowerBound } from './column-sample.js';
import { type NumericReference, referenceCountBelow } from './reference.js';

/** Counts of reference and current over the same bins (labels in the same order). */
export interface BinCounts {
  labels: string[];
  reference: number[];
  current: number[];
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
  let refPrev = 0;
  let curPrev = 0;
  for (let k = 0; k < bins; k++) {
    const last = k === bins - 1;
    const edge = lo + width * (k + 1);
    // [edge_k, edge_k+1) for every bin but the last, which is closed.
    const refBelow = last ? ref.rows : Math.min(ref.rows, referenceCountBelow(ref, edge));
    const curBelow = last ? m : lowerBound(cur, edge);
    labels.push(`[${fmt(lo + width * k)}, ${fmt(edge)}${last ? ']' : ')'}`);
    reference.push(Math.max(0, refBelow - refPrev));
    current.push(curBelow - curPrev);
    refPrev = Math.max(refPrev, refBelow);
    curPrev = curBelow;
  }
  return { labels, reference, current };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}
