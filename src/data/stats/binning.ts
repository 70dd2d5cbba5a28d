import { type ColumnProfile, sketchCdf } from '../tables/index.js';

export interface Binned {
  labels: string[];
  reference: number[];
  current: number[];
}

const OTHER = '(other)';

/**
 * Category counts of two profiles over the union of their frequent values, plus an "(other)" bucket
 * for what incomplete top-k lists leave out.
 */
export function categoryBins(ref: ColumnProfile, cur: ColumnProfile): Binned {
  const labels = [
    ...new Set([...(ref.topK ?? []).map((t) => t.value), ...(cur.topK ?? []).map((t) => t.value)]),
  ].sort();
  const countsOf = (p: ColumnProfile) => labels.map((l) => p.topK?.find((t) => t.value === l)?.count ?? 0);
  const reference = countsOf(ref);
  const current = countsOf(cur);
  const refOther = ref.count - ref.nulls - reference.reduce((a, b) => a + b, 0);
  const curOther = cur.count - cur.nulls - current.reduce((a, b) => a + b, 0);
  if (refOther > 0 || curOther > 0) {
    labels.push(OTHER);
    reference.push(Math.max(0, refOther));
    current.push(Math.max(0, curOther));
  }
  return { labels, reference, current };
}

/** Sturges' rule over both samples, as Evidently bins numeric columns for PSI and Jensen-Shannon. */
export function sturgesBins(nRef: number, nCur: number): number {
  return Math.max(1, Math.ceil(Math.log2(nRef + nCur)) + 1);
}

/** Equal-width bins over the combined range, each side's counts read off its quantile sketch. */
export function numericBins(ref: ColumnProfile, cur: ColumnProfile): Binned {
  const rs = ref.sketch ?? [];
  const cs = cur.sketch ?? [];
  const nRef = ref.count - ref.nulls;
  const nCur = cur.count - cur.nulls;
  const lo = Math.min(rs[0] ?? 0, cs[0] ?? 0);
  const hi = Math.max(rs[rs.length - 1] ?? 0, cs[cs.length - 1] ?? 0);
  const bins = hi > lo ? sturgesBins(nRef, nCur) : 1;
  const edges = Array.from({ length: bins + 1 }, (_, k) => lo + ((hi - lo) * k) / bins);
  const countsOf = (s: number[], n: number) =>
    edges.slice(1).map((e, k) => {
      const from = k === 0 ? 0 : sketchCdf(s, edges[k] as number);
      const to = k === bins - 1 ? 1 : sketchCdf(s, e);
      return Math.max(0, to - from) * n;
    });
  return {
    labels: edges.slice(1).map((e, k) => `[${fmt(edges[k] as number)}, ${fmt(e)})`),
    reference: countsOf(rs, nRef),
    current: countsOf(cs, nCur),
  };
}

/** Category counts of two raw samples. */
export function rawCategoryBins(ref: readonly unknown[], cur: readonly unknown[]): Binned {
  const count = (xs: readonly unknown[]) => {
    const m = new Map<string, number>();
    for (const x of xs) if (x !== null && x !== undefined) m.set(String(x), (m.get(String(x)) ?? 0) + 1);
    return m;
  };
  const r = count(ref);
  const c = count(cur);
  const labels = [...new Set([...r.keys(), ...c.keys()])].sort();
  return { labels, reference: labels.map((l) => r.get(l) ?? 0), current: labels.map((l) => c.get(l) ?? 0) };
}

/** Sturges bins over the combined range of two raw numeric samples. */
export function rawNumericBins(ref: readonly number[], cur: readonly number[]): Binned {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const x of [...ref, ...cur]) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const bins = hi > lo ? sturgesBins(ref.length, cur.length) : 1;
  const width = hi > lo ? (hi - lo) / bins : 1;
  const countsOf = (xs: readonly number[]) => {
    const out = new Array<number>(bins).fill(0);
    for (const x of xs) {
      const k = Math.min(bins - 1, Math.max(0, Math.floor((x - lo) / width)));
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  };
  return {
    labels: Array.from({ length: bins }, (_, k) => `[${fmt(lo + k * width)}, ${fmt(lo + (k + 1) * width)})`),
    reference: countsOf(ref),
    current: countsOf(cur),
  };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}
