import { seededRandom } from '../../core/random.js';
import type { EncodedRows, FeatureEncoding } from './feature-encoding.js';
import { type BinnedFeature, binCountBounds, createBinJob, finishBins } from './gbdt-bins.js';
import type { Tree, ValueTrees } from './gbdt-ensemble.js';
import { toValueTrees } from './gbdt-ensemble.js';
import { type GrownTree, type GrowSettings, levelWidth, slotCount, TreeGrower } from './gbdt-grower.js';
import { createRowSpace, type NextGradients, setTree } from './gbdt-rows.js';
import { createHistogramSpace, plainStorage, sharedStorage } from './gbdt-space.js';
import { defaultThreads, localHistograms, threadedHistograms, worthThreads } from './gbdt-threads.js';
import type { IterationCallback, IterationInfo, Task } from './trainer.types.js';
import { param } from './trainer-params.js';
import { softmaxInPlace, validationScore, validationScoreMulti } from './validation-score.js';

interface GbdtFit {
  task: Task;
  enc: FeatureEncoding;
  x: EncodedRows;
  y: Float64Array;
  trainRows: Uint32Array;
  validRows: Uint32Array;
  params: Record<string, number>;
  seed: number;
  /**
   * Threads that build histograms (1: this thread only); 'auto' takes defaultThreads() for tables
   * big enough to gain from them, else 1. The model is the same for any count.
   */
  threads: number | 'auto';
  /** Classification with more than two classes: K, and y holds class indices (one tree per class per round). */
  classCount?: number;
  onIteration?: IterationCallback | undefined;
}

/**
 * Gradient-boosted trees: log loss (classification) or squared error (regression), second-order
 * leaf values -G/(H + l2), depth-wise growth on quantile histograms with the smaller-child /
 * subtraction trick. All loops run in a fixed order on typed arrays, so the same data, params and
 * seed give the same trees bit for bit.
 */
export function fitGbdt(fit: GbdtFit): ValueTrees {
  const { task, x, y, trainRows, validRows, params } = fit;
  const settings: GrowSettings = {
    maxDepth: param(params, 'max_depth'),
    minChildWeight: param(params, 'min_child_weight'),
    minSamplesLeaf: param(params, 'min_samples_leaf'),
    minSplitGain: param(params, 'min_split_gain'),
    lambda: param(params, 'l2'),
    learningRate: param(params, 'learning_rate'),
    countRows: param(params, 'min_samples_leaf') > 1 || param(params, 'min_child_weight') <= 0,
  };
  const n = x.n;

  const kc = fit.classCount !== undefined && fit.classCount > 2 ? fit.classCount : 1;
  let base = 0;
  const classBases: number[] = [];
  if (kc > 1) {
    // Softmax start: each class's log prior (the constant model with the least log loss).
    const counts = new Array<number>(kc).fill(0);
    for (const i of trainRows) counts[y[i]!]!++;
    for (let k = 0; k < kc; k++) classBases.push(Math.log(counts[k]! / trainRows.length));
  } else {
    for (const i of trainRows) base += y[i]!;
    base /= trainRows.length;
    if (task === 'classification') base = Math.log(base / (1 - base));
  }
  const prob = kc > 1 ? new Float64Array(n * kc) : undefined;
  const random = seededRandom(fit.seed);
  const sampleSize = Math.max(1, Math.round(param(params, 'subsample') * trainRows.length));
  const width = x.numeric.length + x.codes.length;
  const asked =
    fit.threads !== 'auto' ? fit.threads : worthThreads(trainRows.length, width) ? defaultThreads() : 1;
  // More threads than features would have nothing to sum.
  const threads = Math.min(asked, width);
  const threaded = threads > 1;
  const storage = threaded ? sharedStorage : plainStorage;
  const maxBin = param(params, 'max_bin');
  const space = createHistogramSpace({
    n,
    binCounts: binCountBounds(fit.enc, x.numeric.length, maxBin),
    countRows: settings.countRows,
    slotCount: slotCount(settings.maxDepth),
    jobCapacity: levelWidth(settings.maxDepth),
    threads,
    storage,
    // A tree has at most 2^(depth+1) - 1 nodes, and no more than twice its rows (no leaf is empty).
    rows: { kc, treeCapacity: Math.min(2 ** (settings.maxDepth + 1) - 1, 2 * trainRows.length + 1) },
  });
  const binJob = createBinJob({ x, trainRows, maxBin, columns: space.columns, storage });
  const rowSpace = createRowSpace({
    kc,
    y,
    trainRows,
    space,
    // Binned features are the numeric ones, then the categorical ones.
    numeric: Array.from({ length: width }, (_, f) => f < x.numeric.length),
    // Held-out margins are read only by the validation scores given to onIteration.
    trackAll: fit.onIteration !== undefined && validRows.length > 0,
    storage,
  });
  // Multiclass margins are row-major [n, K].
  const { margin } = rowSpace;
  margin.fill(base);
  if (kc > 1) for (let i = 0; i < n; i++) margin.set(classBases, i * kc);
  const { gh } = space;
  const steps = threaded
    ? threadedHistograms(space, threads, rowSpace, binJob)
    : localHistograms(space, rowSpace);
  let features: BinnedFeature[];
  try {
    steps.binning(binJob);
    features = finishBins(fit.enc, x, binJob, space);
  } catch (err) {
    steps.close();
    throw err;
  }
  const featureCount = Math.max(1, Math.round(param(params, 'colsample') * features.length));
  const pool = Uint32Array.from(trainRows);
  const featurePool = Int32Array.from(features, (_, k) => k);
  const trees: Tree[] = [];
  const nEstimators = param(params, 'n_estimators');
  const grower = new TreeGrower(features, steps, settings);
  /** Adds a grown tree to margin `cls` of every row (then, maybe, the next tree's gradients). */
  const addTree = ({ tree, grown }: GrownTree, cls: number, next: NextGradients = 'none') => {
    if (grown.value.length > rowSpace.tree.capacity)
      throw new Error('gbdt: a tree outgrew its node capacity');
    // leafOf holds the ids the tree was grown with.
    setTree(rowSpace, grown);
    steps.margins(cls, next);
    trees.push(tree);
  };
  // Single-margin objectives: the first gradients here, the later ones in the margin step of the
  // tree before (one pass over the rows, and one hand-off to the workers instead of two).
  const nextGradients: NextGradients = task === 'regression' ? 'squared' : 'logloss';
  if (prob === undefined) steps.gradients(task === 'regression');
  /** One tree on grad/hess as they stand, over this tree's draw of rows and features. */
  const growOne = (): GrownTree => {
    const rows = sampleSize < pool.length ? drawSorted(pool, sampleSize, random) : pool;
    const chosen =
      featureCount < features.length ? drawSorted(featurePool, featureCount, random) : featurePool;
    space.index.set(rows);
    space.chosen.set(chosen);
    return grower.grow(rows.length, chosen.length);
  };
  try {
    for (let t = 0; t < nEstimators; t++) {
      if (prob !== undefined) {
        multiclassRound({ kc, trainRows, y, margin, prob, gh }, (cls) => {
          addTree(growOne(), cls);
        });
        if (fit.onIteration) {
          const info: IterationInfo = { iteration: t + 1, of: nEstimators };
          if (validRows.length > 0) {
            const m = new Float64Array(validRows.length * kc);
            validRows.forEach((i, r) => {
              m.set(margin.subarray(i * kc, (i + 1) * kc), r * kc);
            });
            info.validation = validationScoreMulti(y, validRows, m, kc);
          }
          if (fit.onIteration(info) === false) break;
        }
        continue;
      }
      addTree(growOne(), 0, t + 1 < nEstimators ? nextGradients : 'none');
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
  } finally {
    steps.close();
  }
  return toValueTrees({ base, trees, ...(kc > 1 ? { classBases } : {}) }, features);
}

/**
 * One boosting round of the softmax objective: every class's gradients come from the margins as
 * they were at the start of the round (as xgboost's multi:softprob does), then `grow(k)` adds class
 * k's tree. Gradient p_k - [y = k], hessian p_k (1 - p_k) (the diagonal of the softmax Hessian).
 */
function multiclassRound(
  s: {
    kc: number;
    trainRows: Uint32Array;
    y: Float64Array;
    margin: Float64Array;
    prob: Float64Array;
    gh: Float64Array;
  },
  grow: (cls: number) => void,
): void {
  const { kc, trainRows, y, margin, prob, gh } = s;
  for (const i of trainRows) {
    prob.set(margin.subarray(i * kc, (i + 1) * kc), i * kc);
    softmaxInPlace(prob, i * kc, kc);
  }
  for (let cls = 0; cls < kc; cls++) {
    for (const i of trainRows) {
      const p = prob[i * kc + cls]!;
      gh[2 * i] = p - (y[i] === cls ? 1 : 0);
      gh[2 * i + 1] = Math.max(p * (1 - p), 1e-16);
    }
    grow(cls);
  }
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
