import type { EncodedMatrix, ModelInternals } from '../../ml/index.js';
import { columnFeatures, coreMargins, internalsFeatures } from '../../ml/index.js';
import type { ShapResult } from './linear-shap.js';

const NONE = 0;
const X_SIDE = 1;
const R_SIDE = 2;

/**
 * Interventional TreeSHAP (shap's TreeExplainer with feature_perturbation='interventional'): the
 * exact Shapley values of v(S) = mean over background rows r of f(x_S, r_rest), in margin space.
 *
 * For one background row r and one tree, a leaf is reached by a hybrid of x and r when every feature
 * on its path takes its value from the side whose conditions it meets. Walking the tree, a split
 * where x and r go the same way constrains nothing; where they part, the feature joins Sx (follow
 * x) or Sr (follow r), and later splits on it follow that side. At a leaf with value v, the Shapley
 * value of this single-leaf game gives each i in Sx v * (|Sx|-1)! |Sr|! / (|Sx|+|Sr|)! and takes
 * v * |Sx|! (|Sr|-1)! / (|Sx|+|Sr|)! from each i in Sr. Features are the original ones: the one-hot
 * columns of a categorical are one player. Cost: per pair, the nodes reachable by such hybrids.
 */
export function treeShap(internals: ModelInternals, x: EncodedMatrix, bg: EncodedMatrix): ShapResult {
  const core = internals.core;
  if (core.kind !== 'trees') throw new Error('treeShap: not a tree ensemble');
  const features = internalsFeatures(internals);
  const owner = columnFeatures(internals);
  const m = features.length;
  const { width } = x;
  const bgMargins = coreMargins(internals, bg);
  let base = 0;
  for (const v of bgMargins) base += v;
  base /= bg.n;

  // Path weights: wx[a][b] for a member of Sx with |Sx| = a, |Sr| = b, and wr for a member of Sr.
  let maxDepth = 0;
  for (const t of core.trees) maxDepth = Math.max(maxDepth, depthOf(t.left, t.right));
  const d = Math.min(maxDepth, m) + 1;
  const fact = [1];
  for (let k = 1; k <= 2 * d; k++) fact.push(fact[k - 1]! * k);
  const wx = new Float64Array(d * d);
  const wr = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      if (a + b === 0) continue;
      if (a > 0) wx[a * d + b] = (fact[a - 1]! * fact[b]!) / fact[a + b]!;
      if (b > 0) wr[a * d + b] = (fact[a]! * fact[b - 1]!) / fact[a + b]!;
    }
  }

  const side = new Uint8Array(m);
  const stack = new Int32Array(d + 1);
  const xs = x.data;
  const rs = bg.data;
  let acc = new Float64Array(m);
  // The walk's state: the tree, the two rows, and the features on the path with their side.
  let tree = core.trees[0]!;
  let xo = 0;
  let ro = 0;
  let depth = 0;
  let nx = 0;
  let nr = 0;
  const walk = (node: number): void => {
    const l = tree.left[node]!;
    if (l < 0) {
      if (nx + nr === 0) return; // reached by x and r alike: f(x) - f(r) gets nothing here
      const v = tree.value[node]!;
      const ax = nx > 0 ? v * wx[nx * d + nr]! : 0;
      const ar = nr > 0 ? v * wr[nx * d + nr]! : 0;
      for (let k = 0; k < depth; k++) {
        const f = stack[k]!;
        if (side[f] === X_SIDE) acc[f] = acc[f]! + ax;
        else acc[f] = acc[f]! - ar;
      }
      return;
    }
    const c = tree.column[node]!;
    const thr = tree.threshold[node]!;
    const right = tree.right[node]!;
    const f = owner[c]!;
    const s = side[f]!;
    const xl = xs[xo + c]! <= thr;
    if (s === X_SIDE) {
      walk(xl ? l : right);
      return;
    }
    const rl = rs[ro + c]! <= thr;
    if (s === R_SIDE || xl === rl) {
      walk(rl ? l : right);
      return;
    }
    stack[depth++] = f;
    side[f] = X_SIDE;
    nx++;
    walk(xl ? l : right);
    nx--;
    side[f] = R_SIDE;
    nr++;
    walk(rl ? l : right);
    nr--;
    side[f] = NONE;
    depth--;
  };

  const phi: Float64Array[] = [];
  for (let i = 0; i < x.n; i++) {
    acc = new Float64Array(m);
    xo = i * width;
    for (let r = 0; r < bg.n; r++) {
      ro = r * width;
      for (const t of core.trees) {
        tree = t;
        walk(0);
      }
    }
    for (let f = 0; f < m; f++) acc[f] = acc[f]! / bg.n;
    phi.push(acc);
  }
  return { features, base, output: coreMargins(internals, x), phi };
}

/** Depth of a pre-order tree (edges on the longest root-to-leaf path). */
function depthOf(left: number[], right: number[]): number {
  const depth = new Int32Array(left.length);
  let max = 0;
  for (let k = 0; k < left.length; k++) {
    if (left[k]! < 0) continue;
    depth[left[k]!] = depth[k]! + 1;
    depth[right[k]!] = depth[k]! + 1;
    max = Math.max(max, depth[k]! + 1);
  }
  return max;
}
