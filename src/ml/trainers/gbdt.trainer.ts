import { seededRandom } from '../../core/random.js';
import type { EncodedRows, FeatureEncoding } from './feature-encoding.js';
import type { BinnedRows } from './gbdt-bins.js';
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
  /**
   * Row counts per bin are only needed for min_samples_leaf > 1, or when min_child_weight is 0 and
   * cannot keep a child from being empty; otherwise the histogram skips them (a third of its work).
   */
  countRows: boolean;
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
    countRows: param(params, 'min_samples_leaf') > 1 || param(params, 'min_child_weight') <= 0,
  };
  const binned = binFeatures(fit.enc, x, trainRows, param(params, 'max_bin'));
  const features = binned.features;
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
  const leafOf = new Int32Array(n);
  const nEstimators = param(params, 'n_estimators');

  for (let t = 0; t < nEstimators; t++) {
    for (let k = 0; k < trainRows.length; k++) {
      const i = trainRows[k]!;
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
    leafOf.fill(-1);
    const tree = new TreeGrower(binned, Int32Array.from(chosen), grad, hess, settings, leafOf).grow(rows);
    trees.push(tree);
    // Rows the tree was grown on already know their leaf; the others (not drawn, held out) walk it.
    for (let i = 0; i < n; i++) {
      const leaf = leafOf[i]!;
      margin[i] = margin[i]! + (leaf >= 0 ? tree.value[leaf]! : leafValue(tree, binned, i));
    }
    if (fit.onIteration) {
      const info: IterationInfo = { iteration: t + 1, of: nEstimators };
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
function leafValue(tree: Tree, binned: BinnedRows, i: number): number {
  const { features, matrix, n } = binned;
  let node = 0;
  while (tree.left[node]! >= 0) {
    const f = tree.binFeature[node]!;
    const bin = matrix[f * n + i]!;
    const goLeft =
      features[f]!.kind === 'numeric' ? bin <= tree.splitBin[node]! : bin !== tree.splitBin[node]!;
    node = goLeft ? tree.left[node]! : tree.right[node]!;
  }
  return tree.value[node]!;
}

interface Split {
  feature: number;
  bin: number;
  gain: number;
  gl: number;
  hl: number;
}

/**
 * Grows one tree. A histogram is one Float64Array of (gradient, hessian, count) triples, bin by bin,
 * feature after feature (offsets[f] is feature f's first triple).
 */
class TreeGrower {
  private readonly nodes: {
    binFeature: number;
    splitBin: number;
    left: number;
    right: number;
    value: number;
  }[] = [];
  private readonly offsets: Int32Array;
  private readonly size: number;
  private readonly gathered: Float64Array;

  constructor(
    private readonly binned: BinnedRows,
    private readonly chosen: Int32Array,
    private readonly grad: Float64Array,
    private readonly hess: Float64Array,
    private readonly s: Settings,
    /** Filled with the leaf id of every row the tree is grown on. */
    private readonly leafOf: Int32Array,
  ) {
    const fs = binned.features;
    this.offsets = new Int32Array(fs.length + 1);
    for (let f = 0; f < fs.length; f++) this.offsets[f + 1] = this.offsets[f]! + 3 * fs[f]!.binCount;
    this.size = this.offsets[fs.length]!;
    this.gathered = new Float64Array(2 * binned.n);
  }

  grow(rows: Uint32Array): Tree {
    let g = 0;
    let h = 0;
    for (let k = 0; k < rows.length; k++) {
      g += this.grad[rows[k]!]!;
      h += this.hess[rows[k]!]!;
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
  private node(rows: Uint32Array, depth: number, hist: Float64Array, g: number, h: number): number {
    const id = this.nodes.length;
    const { lambda, learningRate } = this.s;
    this.nodes.push({
      binFeature: -1,
      splitBin: -1,
      left: -1,
      right: -1,
      value: (-g / (h + lambda)) * learningRate,
    });
    const split =
      depth >= this.s.maxDepth || rows.length < 2 * this.s.minSamplesLeaf
        ? undefined
        : this.bestSplit(hist, g, h, rows.length);
    if (split === undefined) {
      for (let k = 0; k < rows.length; k++) this.leafOf[rows[k]!] = id;
      return id;
    }
    const { matrix, n } = this.binned;
    const f = split.feature;
    const column = f * n;
    const numeric = this.binned.features[f]!.kind === 'numeric';
    const leftBuf = new Uint32Array(rows.length);
    const rightBuf = new Uint32Array(rows.length);
    let l = 0;
    let r = 0;
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k]!;
      const bin = matrix[column + i]!;
      if (numeric ? bin <= split.bin : bin !== split.bin) leftBuf[l++] = i;
      else rightBuf[r++] = i;
    }
    const leftRows = leftBuf.subarray(0, l);
    const rightRows = rightBuf.subarray(0, r);
    // Scan the smaller child; the larger one's histogram is the parent's minus it.
    const leftSmaller = l <= r;
    const small = this.histogram(leftSmaller ? leftRows : rightRows);
    const large = hist;
    for (let b = 0; b < this.size; b++) large[b] = large[b]! - small[b]!;
    const nd = this.nodes[id]!;
    nd.binFeature = f;
    nd.splitBin = split.bin;
    nd.left = this.node(leftRows, depth + 1, leftSmaller ? small : large, split.gl, split.hl);
    nd.right = this.node(rightRows, depth + 1, leftSmaller ? large : small, g - split.gl, h - split.hl);
    return id;
  }

  private histogram(rows: Uint32Array): Float64Array {
    const hist = new Float64Array(this.size);
    const m = rows.length;
    // Gradients of the node's rows, gathered once so each feature's pass reads them in sequence.
    const gn = this.gathered.subarray(0, m);
    const hn = this.gathered.subarray(m, 2 * m);
    for (let k = 0; k < m; k++) {
      const i = rows[k]!;
      gn[k] = this.grad[i]!;
      hn[k] = this.hess[i]!;
    }
    const { matrix, n } = this.binned;
    for (let c = 0; c < this.chosen.length; c++) {
      const f = this.chosen[c]!;
      const off = this.offsets[f]!;
      const column = f * n;
      if (this.s.countRows) {
        for (let k = 0; k < m; k++) {
          const b = off + 3 * matrix[column + rows[k]!]!;
          hist[b] = hist[b]! + gn[k]!;
          hist[b + 1] = hist[b + 1]! + hn[k]!;
          hist[b + 2] = hist[b + 2]! + 1;
        }
      } else {
        for (let k = 0; k < m; k++) {
          const b = off + 3 * matrix[column + rows[k]!]!;
          hist[b] = hist[b]! + gn[k]!;
          hist[b + 1] = hist[b + 1]! + hn[k]!;
        }
      }
    }
    return hist;
  }

  private bestSplit(hist: Float64Array, g: number, h: number, count: number): Split | undefined {
    const { lambda, minChildWeight, minSamplesLeaf, minSplitGain, countRows } = this.s;
    const parentScore = (g * g) / (h + lambda);
    let best: Split | undefined;
    let bestGain = Math.max(minSplitGain, 1e-12);
    for (let c = 0; c < this.chosen.length; c++) {
      const f = this.chosen[c]!;
      const feature = this.binned.features[f]!;
      const off = this.offsets[f]!;
      const numeric = feature.kind === 'numeric';
      let gl = 0;
      let hl = 0;
      let cl = 0;
      // Numeric: bins 0..b go left. Categorical: the rows of category b go right (one-hot > 0.5).
      for (let b = numeric ? 0 : 1; b < (numeric ? feature.binCount - 1 : feature.binCount); b++) {
        const at = off + 3 * b;
        if (numeric) {
          gl += hist[at]!;
          hl += hist[at + 1]!;
          cl += hist[at + 2]!;
        } else {
          if (hist[at + 1] === 0) continue; // hessians are > 0, so an empty bin has none
          gl = g - hist[at]!;
          hl = h - hist[at + 1]!;
          cl = count - hist[at + 2]!;
        }
        const gr = g - gl;
        const hr = h - hl;
        const cr = count - cl;
        if (hl < minChildWeight || hr < minChildWeight) continue;
        if (countRows && (cl < minSamplesLeaf || cr < minSamplesLeaf)) continue;
        const gain = 0.5 * ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore);
        if (gain > bestGain) {
          bestGain = gain;
          best = { feature: f, bin: b, gain, gl, hl };
        }
      }
    }
    return best;
  }
}
