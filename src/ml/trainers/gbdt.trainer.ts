import { seededRandom } from '../../core/random.js';
import type { EncodedRows, FeatureEncoding } from './feature-encoding.js';
import type { BinnedFeature } from './gbdt-bins.js';
import { binFeatures } from './gbdt-bins.js';
import type { Tree, ValueTrees } from './gbdt-ensemble.js';
import { toValueTrees } from './gbdt-ensemble.js';
import type { IterationCallback, IterationInfo, Task } from './trainer.types.js';
import { param } from './trainer-params.js';
import { sigmoid, validationScore } from './validation-score.js';

interface GbdtFit {
  task: Task;
  enc: FeatureEncoding;
  x: EncodedRows;
  y: Float64Array;
  trainRows: Uint32Array;
  validRows: Uint32Array;
  params: Record<string, number>;
  seed: number;
  onIteration?: IterationCallback | undefined;
}

interface Settings {
  maxDepth: number;
  minChildWeight: number;
  minSamplesLeaf: number;
  minSplitGain: number;
  lambda: number;
  learningRate: number;
}

/** Where the histograms of one node live: per bin sums of gradient, hessian and row count. */
interface Histogram {
  g: Float64Array;
  h: Float64Array;
  c: Float64Array;
}

/**
 * Gradient-boosted trees: log loss (classification) or squared error (regression), second-order
 * leaf values -G/(H + l2), depth-wise growth on quantile histograms with the smaller-child /
 * subtraction trick. All loops run in a fixed order on typed arrays, so the same data, params and
 * seed give the same trees bit for bit.
 */
export function fitGbdt(fit: GbdtFit): ValueTrees {
  const { task, x, y, trainRows, validRows, params } = fit;
  const settings: Settings = {
    maxDepth: param(params, 'max_depth'),
    minChildWeight: param(params, 'min_child_weight'),
    minSamplesLeaf: param(params, 'min_samples_leaf'),
    minSplitGain: param(params, 'min_split_gain'),
    lambda: param(params, 'l2'),
    learningRate: param(params, 'learning_rate'),
  };
  const features = binFeatures(fit.enc, x, trainRows, param(params, 'max_bin'));
  const offsets = new Int32Array(features.length + 1);
  features.forEach((f, k) => {
    offsets[k + 1] = offsets[k]! + f.binCount;
  });
  const totalBins = offsets[features.length]!;
  const n = x.n;

  let base = 0;
  for (const i of trainRows) base += y[i]!;
  base /= trainRows.length;
  if (task === 'classification') base = Math.log(base / (1 - base));
  const margin = new Float64Array(n).fill(base);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const random = seededRandom(fit.seed);
  const sampleSize = Math.max(1, Math.round(param(params, 'subsample') * trainRows.length));
  const featureCount = Math.max(1, Math.round(param(params, 'colsample') * features.length));
  const pool = Uint32Array.from(trainRows);
  const featurePool = Int32Array.from(features, (_, k) => k);
  const trees: Tree[] = [];
  const nEstimators = param(params, 'n_estimators');

  for (let t = 0; t < nEstimators; t++) {
    for (const i of trainRows) {
      if (task === 'classification') {
        const p = sigmoid(margin[i]!);
        grad[i] = p - y[i]!;
        hess[i] = Math.max(p * (1 - p), 1e-16);
      } else {
        grad[i] = margin[i]! - y[i]!;
        hess[i] = 1;
      }
    }
    const rows = sampleSize < pool.length ? drawSorted(pool, sampleSize, random) : pool.slice();
    const chosen =
      featureCount < features.length ? drawSorted(featurePool, featureCount, random) : featurePool;
    const grower = new TreeGrower(
      features,
      offsets,
      totalBins,
      Int32Array.from(chosen),
      grad,
      hess,
      settings,
    );
    const tree = grower.grow(rows);
    trees.push(tree);
    for (let i = 0; i < n; i++) margin[i] = margin[i]! + leafValue(tree, features, i);
    if (fit.onIteration) {
      const info: IterationInfo = { iteration: t + 1 };
      if (validRows.length > 0) {
        info.validation = validationScore(
          task,
          y,
          validRows,
          Float64Array.from(validRows, (i) => margin[i]!),
        );
      }
      if (fit.onIteration(info) === false) break;
    }
  }
  return toValueTrees({ base, trees }, features);
}

/** A seeded partial Fisher-Yates draw of k items, returned in ascending order. */
function drawSorted<A extends Uint32Array | Int32Array>(pool: A, k: number, random: () => number): A {
  const copy = pool.slice() as A;
  for (let j = 0; j < k; j++) {
    const pick = j + Math.floor(random() * (copy.length - j));
    const tmp = copy[j]!;
    copy[j] = copy[pick]!;
    copy[pick] = tmp;
  }
  return copy.subarray(0, k).sort() as A;
}

/** Routes training row i through a tree by its bins (the same as thresholds on its values). */
function leafValue(tree: Tree, features: BinnedFeature[], i: number): number {
  let node = 0;
  while (tree.left[node]! >= 0) {
    const f = features[tree.binFeature[node]!]!;
    const bin = f.bins[i]!;
    const goLeft = f.kind === 'numeric' ? bin <= tree.splitBin[node]! : bin !== tree.splitBin[node]!;
    node = goLeft ? tree.left[node]! : tree.right[node]!;
  }
  return tree.value[node]!;
}

class TreeGrower {
  private readonly nodes: {
    binFeature: number;
    splitBin: number;
    left: number;
    right: number;
    value: number;
  }[] = [];

  constructor(
    private readonly features: BinnedFeature[],
    private readonly offsets: Int32Array,
    private readonly totalBins: number,
    private readonly chosen: Int32Array,
    private readonly grad: Float64Array,
    private readonly hess: Float64Array,
    private readonly s: Settings,
  ) {}

  grow(rows: Uint32Array): Tree {
    let g = 0;
    let h = 0;
    for (const i of rows) {
      g += this.grad[i]!;
      h += this.hess[i]!;
    }
    this.node(rows, 0, this.histogram(rows), g, h);
    const m = this.nodes.length;
    const tree: Tree = {
      binFeature: new Int32Array(m),
      splitBin: new Int32Array(m),
      left: new Int32Array(m),
      right: new Int32Array(m),
      value: new Float64Array(m),
    };
    this.nodes.forEach((nd, k) => {
      tree.binFeature[k] = nd.binFeature;
      tree.splitBin[k] = nd.splitBin;
      tree.left[k] = nd.left;
      tree.right[k] = nd.right;
      tree.value[k] = nd.value;
    });
    return tree;
  }

  /** Builds the subtree of `rows` (pre-order ids) and returns its root id. */
  private node(rows: Uint32Array, depth: number, hist: Histogram, g: number, h: number): number {
    const id = this.nodes.length;
    const { lambda, learningRate } = this.s;
    this.nodes.push({
      binFeature: -1,
      splitBin: -1,
      left: -1,
      right: -1,
      value: (-g / (h + lambda)) * learningRate,
    });
    if (depth >= this.s.maxDepth || rows.length < 2 * this.s.minSamplesLeaf) return id;
    const split = this.bestSplit(hist, g, h, rows.length);
    if (split === undefined) return id;
    const f = this.features[split.feature]!;
    const leftRows = new Uint32Array(split.leftCount);
    const rightRows = new Uint32Array(rows.length - split.leftCount);
    let l = 0;
    let r = 0;
    for (const i of rows) {
      const bin = f.bins[i]!;
      const goLeft = f.kind === 'numeric' ? bin <= split.bin : bin !== split.bin;
      if (goLeft) leftRows[l++] = i;
      else rightRows[r++] = i;
    }
    // Scan the smaller child; the larger one's histogram is the parent's minus it.
    const leftSmaller = leftRows.length <= rightRows.length;
    const small = this.histogram(leftSmaller ? leftRows : rightRows);
    const large = hist;
    for (let b = 0; b < this.totalBins; b++) {
      large.g[b] = large.g[b]! - small.g[b]!;
      large.h[b] = large.h[b]! - small.h[b]!;
      large.c[b] = large.c[b]! - small.c[b]!;
    }
    const [leftHist, rightHist] = leftSmaller ? [small, large] : [large, small];
    const nd = this.nodes[id]!;
    nd.binFeature = split.feature;
    nd.splitBin = split.bin;
    nd.left = this.node(leftRows, depth + 1, leftHist, split.gl, split.hl);
    nd.right = this.node(rightRows, depth + 1, rightHist, g - split.gl, h - split.hl);
    return id;
  }

  private histogram(rows: Uint32Array): Histogram {
    const hg = new Float64Array(this.totalBins);
    const hh = new Float64Array(this.totalBins);
    const hc = new Float64Array(this.totalBins);
    const grad = this.grad;
    const hess = this.hess;
    for (const k of this.chosen) {
      const bins = this.features[k]!.bins;
      const off = this.offsets[k]!;
      for (let j = 0; j < rows.length; j++) {
        const i = rows[j]!;
        const b = off + bins[i]!;
        hg[b] = hg[b]! + grad[i]!;
        hh[b] = hh[b]! + hess[i]!;
        hc[b] = hc[b]! + 1;
      }
    }
    return { g: hg, h: hh, c: hc };
  }

  private bestSplit(
    hist: Histogram,
    g: number,
    h: number,
    count: number,
  ): { feature: number; bin: number; gain: number; gl: number; hl: number; leftCount: number } | undefined {
    const { lambda, minChildWeight, minSamplesLeaf, minSplitGain } = this.s;
    const parentScore = (g * g) / (h + lambda);
    let best:
      | { feature: number; bin: number; gain: number; gl: number; hl: number; leftCount: number }
      | undefined;
    const consider = (feature: number, bin: number, gl: number, hl: number, cl: number) => {
      const gr = g - gl;
      const hr = h - hl;
      const cr = count - cl;
      if (cl < minSamplesLeaf || cr < minSamplesLeaf || hl < minChildWeight || hr < minChildWeight) return;
      const gain = 0.5 * ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore);
      if (gain > minSplitGain && gain > 1e-12 && (best === undefined || gain > best.gain)) {
        best = { feature, bin, gain, gl, hl, leftCount: cl };
      }
    };
    for (const k of this.chosen) {
      const f = this.features[k]!;
      const off = this.offsets[k]!;
      if (f.kind === 'numeric') {
        let gl = 0;
        let hl = 0;
        let cl = 0;
        for (let b = 0; b + 1 < f.binCount; b++) {
          gl += hist.g[off + b]!;
          hl += hist.h[off + b]!;
          cl += hist.c[off + b]!;
          consider(k, b, gl, hl, cl);
        }
      } else {
        // One category against the rest: rows of category b go right (one-hot column > 0.5).
        for (let b = 1; b < f.binCount; b++) {
          const cb = hist.c[off + b]!;
          if (cb > 0) consider(k, b, g - hist.g[off + b]!, h - hist.h[off + b]!, count - cb);
        }
      }
    }
    return best;
  }
}
