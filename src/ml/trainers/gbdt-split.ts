import { histogramKernels } from './gbdt-kernels.js';
import { type HistogramSpace, RESULT_DOUBLES } from './gbdt-space.js';
import { SplitArea } from './gbdt-split-kernel.js';

/*
 * The split search of one node over a range of its chosen features, on any thread: a thread that has
 * just built (or subtracted) some features' histograms searches them at once, while they are in its
 * cache, instead of the calling thread searching every feature after the whole level is built.
 * Each range's best is the first bin, in feature then bin order, whose gain beats the threshold
 * strictly; taking the ranges' bests in range order, again only on a strictly higher gain
 * (bestOfParts), gives the same split as one search over all the features: the same tree.
 */

/** Positions in space.splitSettings (written by the grower before any search). */
export const SplitSetting = { lambda: 0, minChildWeight: 1, minSamplesLeaf: 2, minSplitGain: 3 } as const;

/** A split found by the search: rows with bin <= `bin` go left (categorical: bin != `bin`). */
export interface Split {
  feature: number;
  bin: number;
  gl: number;
  hl: number;
}

/** The gain a split must beat: min_split_gain, and a hair above 0 (a split that gains nothing is none). */
export function gainThreshold(hs: HistogramSpace): number {
  return Math.max(hs.splitSettings[SplitSetting.minSplitGain]!, 1e-12);
}

/**
 * Searches the chosen features c0..c1-1 of the node whose histogram is in `slot` (sums g, h over
 * `count` rows) and writes the best split that beats gainThreshold to out[at, at + RESULT_DOUBLES);
 * `part` is the calling thread's part (its kernel area).
 */
export function searchSplit(
  hs: HistogramSpace,
  slot: number,
  g: number,
  h: number,
  count: number,
  c0: number,
  c1: number,
  part: number,
  out: Float64Array,
  at: number,
): void {
  const { slots, binStart, chosen, stride, memory, splitArea: area, splitBinCount, splitNumeric } = hs;
  const settings = hs.splitSettings;
  const lambda = settings[SplitSetting.lambda]!;
  const minChildWeight = settings[SplitSetting.minChildWeight]!;
  const minSamplesLeaf = settings[SplitSetting.minSamplesLeaf]!;
  const countRows = stride === 3;
  const base = slot * hs.size;
  const parentScore = (g * g) / (h + lambda);
  let bestGain = gainThreshold(hs);
  out[at] = Number.NEGATIVE_INFINITY;
  // Numeric features without row counts are scanned by a kernel, to the same bits.
  const kernels = memory !== undefined && !countRows ? histogramKernels(memory) : undefined;
  const a = part * (SplitArea.bytes / 8);
  const aBytes = area.byteOffset + part * SplitArea.bytes;
  if (kernels !== undefined) {
    area[a + SplitArea.gh / 8] = g;
    area[a + SplitArea.gh / 8 + 1] = h;
    area[a + SplitArea.lambda / 8] = lambda;
    area[a + SplitArea.lambda / 8 + 1] = lambda;
    area[a + SplitArea.minChildWeight / 8] = minChildWeight;
    area[a + SplitArea.parentScore / 8] = parentScore;
  }
  for (let c = c0; c < c1; c++) {
    const f = chosen[c]!;
    const binCount = splitBinCount[f]!;
    const off = base + stride * binStart[f]!;
    const numeric = splitNumeric[f] === 1;
    if (numeric && kernels !== undefined) {
      area[a + SplitArea.gain / 8] = bestGain;
      const bin = kernels.splitNumeric(slots.byteOffset + 8 * off, binCount - 1, aBytes);
      if (bin >= 0) {
        bestGain = area[a + SplitArea.gain / 8]!;
        setResult(
          out,
          at,
          bestGain,
          f,
          bin,
          area[a + SplitArea.left / 8]!,
          area[a + SplitArea.left / 8 + 1]!,
        );
      }
      continue;
    }
    let gl = 0;
    let hl = 0;
    let cl = 0;
    // Numeric: bins 0..b go left. Categorical: the rows of category b go right (one-hot > 0.5).
    for (let b = numeric ? 0 : 1; b < (numeric ? binCount - 1 : binCount); b++) {
      const cell = off + stride * b;
      if (numeric) {
        gl += slots[cell]!;
        hl += slots[cell + 1]!;
        if (countRows) cl += slots[cell + 2]!;
      } else {
        if (slots[cell + 1] === 0) continue; // hessians are > 0, so an empty bin has none
        gl = g - slots[cell]!;
        hl = h - slots[cell + 1]!;
        if (countRows) cl = count - slots[cell + 2]!;
      }
      const gr = g - gl;
      const hr = h - hl;
      if (hl < minChildWeight || hr < minChildWeight) continue;
      if (countRows && (cl < minSamplesLeaf || count - cl < minSamplesLeaf)) continue;
      const gain = 0.5 * ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore);
      if (gain > bestGain) {
        bestGain = gain;
        setResult(out, at, gain, f, b, gl, hl);
      }
    }
  }
}

function setResult(
  out: Float64Array,
  at: number,
  gain: number,
  f: number,
  bin: number,
  gl: number,
  hl: number,
) {
  out[at] = gain;
  out[at + 1] = f;
  out[at + 2] = bin;
  out[at + 3] = gl;
  out[at + 4] = hl;
}

/**
 * The best of `parts` results at out[at], out[at + RESULT_DOUBLES], ... (ranges in feature order):
 * the first with the highest gain, as one search over all the ranges finds it.
 */
export function bestOfParts(
  hs: HistogramSpace,
  out: Float64Array,
  at: number,
  parts: number,
): Split | undefined {
  let bestGain = gainThreshold(hs);
  let best: Split | undefined;
  for (let p = 0, o = at; p < parts; p++, o += RESULT_DOUBLES) {
    const gain = out[o]!;
    if (gain > bestGain) {
      bestGain = gain;
      best = { feature: out[o + 1]!, bin: out[o + 2]!, gl: out[o + 3]!, hl: out[o + 4]! };
    }
  }
  return best;
}
