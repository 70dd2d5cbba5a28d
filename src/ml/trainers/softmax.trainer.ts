import { ValidationError } from '../../core/errors.js';
import type { EncodedRows, FeatureEncoding } from './feature-encoding.js';
import { encodedWidth } from './feature-encoding.js';
import { Design, newtonMinimize } from './linear.trainer.js';
import type { IterationCallback, IterationInfo } from './trainer.types.js';
import { param } from './trainer-params.js';
import { softmaxInPlace, validationScoreMulti } from './validation-score.js';

/*
 * Multinomial (softmax) logistic regression for K > 2 classes: one weight vector and intercept per
 * class, minimising sum(-log p_y) + l2/2 * sum_k |w_k|^2 by full-batch Newton steps with
 * backtracking, as the binary trainer does. Adding one vector to every class's weights changes no
 * probability, so the system is singular without a penalty: a tiny ridge (also on the intercepts)
 * picks the smallest of the equivalent solutions and leaves the probabilities as they are.
 */

/** Per class k: weights[k] over the encoded columns and intercepts[k]. */
export interface SoftmaxCore {
  weights: Float64Array[];
  intercepts: Float64Array;
}

interface SoftmaxFit {
  enc: FeatureEncoding;
  x: EncodedRows;
  /** Class index per row. */
  y: Float64Array;
  classCount: number;
  trainRows: Uint32Array;
  validRows: Uint32Array;
  params: Record<string, number>;
  onIteration?: IterationCallback | undefined;
}

const RIDGE = 1e-6;

/** Fits the softmax model; deterministic (no randomness). */
export function fitSoftmax(fit: SoftmaxFit): SoftmaxCore {
  const { enc, x, y, trainRows, validRows, params, classCount: kc } = fit;
  const d = encodedWidth(enc);
  if (d === 0) {
    throw new ValidationError('the features hold no usable values (every value is missing)', {
      field: 'features',
    });
  }
  const l2 = param(params, 'l2');
  const maxIter = param(params, 'max_iter');
  const tol = param(params, 'tol');
  const design = new Design(enc, x);
  const dim = d + 1; // intercept at 0 of each class's block
  let beta: Float64Array = new Float64Array(kc * dim);
  beta = newtonMinimize(beta, {
    maxIter,
    tol,
    objective: (b) => softmaxObjective(design, y, trainRows, b, kc, dim, l2),
    system: (b) => softmaxSystem(design, y, trainRows, b, kc, dim, l2),
    afterStep: (iter, b) => {
      if (!fit.onIteration) return true;
      const info: IterationInfo = { iteration: iter, of: maxIter };
      if (validRows.length > 0) {
        const m = new Float64Array(validRows.length * kc);
        for (let r = 0; r < validRows.length; r++)
          for (let k = 0; k < kc; k++) m[r * kc + k] = design.margin(validRows[r]!, b.subarray(k * dim));
        info.validation = validationScoreMulti(y, validRows, m, kc);
      }
      return fit.onIteration(info) !== false;
    },
  });
  return {
    weights: Array.from({ length: kc }, (_, k) => beta.slice(k * dim + 1, (k + 1) * dim)),
    intercepts: Float64Array.from({ length: kc }, (_, k) => beta[k * dim]!),
  };
}

/** Per-class margins of encoded rows, row-major [N, K], in the graph's order (MatMul, then Add). */
export function softmaxMargins(core: SoftmaxCore, enc: FeatureEncoding, x: EncodedRows): Float64Array {
  const design = new Design(enc, x);
  const kc = core.intercepts.length;
  const betas = core.weights.map((w, k) => {
    const b = new Float64Array(w.length + 1);
    b[0] = core.intercepts[k]!;
    b.set(w, 1);
    return b;
  });
  const out = new Float64Array(x.n * kc);
  for (let i = 0; i < x.n; i++) for (let k = 0; k < kc; k++) out[i * kc + k] = design.margin(i, betas[k]!);
  return out;
}

function rowProbabilities(
  design: Design,
  i: number,
  beta: Float64Array,
  kc: number,
  dim: number,
  p: Float64Array,
): void {
  for (let k = 0; k < kc; k++) p[k] = design.margin(i, beta.subarray(k * dim));
}

/** The penalised objective at beta (K blocks of intercept + weights); exported for the gradient tests. */
export function softmaxObjective(
  design: Design,
  y: Float64Array,
  rows: Uint32Array,
  beta: Float64Array,
  kc: number,
  dim: number,
  l2: number,
): number {
  const m = new Float64Array(kc);
  let loss = 0;
  for (const i of rows) {
    rowProbabilities(design, i, beta, kc, dim, m);
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < kc; k++) max = Math.max(max, m[k]!);
    let s = 0;
    for (let k = 0; k < kc; k++) s += Math.exp(m[k]! - max);
    loss += max + Math.log(s) - m[y[i]!]!;
  }
  let penalty = 0;
  for (let k = 0; k < kc; k++) {
    penalty += RIDGE * beta[k * dim]! * beta[k * dim]!;
    for (let j = 1; j < dim; j++) penalty += (l2 + RIDGE) * beta[k * dim + j]! * beta[k * dim + j]!;
  }
  return loss + 0.5 * penalty;
}

/** Gradient and Hessian of softmaxObjective at beta; exported for the gradient tests. */
export function softmaxSystem(
  design: Design,
  y: Float64Array,
  rows: Uint32Array,
  beta: Float64Array,
  kc: number,
  dim: number,
  l2: number,
): { grad: Float64Array; hess: Float64Array } {
  const total = kc * dim;
  const grad = new Float64Array(total);
  const hess = new Float64Array(total * total); // upper triangle filled, then mirrored
  const { idx, val } = design;
  const p = new Float64Array(kc);
  for (const i of rows) {
    rowProbabilities(design, i, beta, kc, dim, p);
    softmaxInPlace(p, 0, kc);
    const yi = y[i]!;
    const nnz = design.row(i);
    for (let k = 0; k < kc; k++) {
      const g = p[k]! - (k === yi ? 1 : 0);
      for (let a = 0; a < nnz; a++) grad[k * dim + idx[a]!]! += g * val[a]!;
      for (let l = k; l < kc; l++) {
        // d2/dm_k dm_l of the loss: p_k (delta_kl - p_l)
        const h = p[k]! * ((k === l ? 1 : 0) - p[l]!) + (k === l ? 1e-12 : 0);
        for (let a = 0; a < nnz; a++) {
          const ra = k * dim + idx[a]!;
          const hv = h * val[a]!;
          for (let b = 0; b < nnz; b++) {
            const cb = l * dim + idx[b]!;
            if (cb < ra) continue;
            hess[ra * total + cb]! += hv * val[b]!;
          }
        }
      }
    }
  }
  for (let k = 0; k < kc; k++) {
    for (let j = 0; j < dim; j++) {
      const r = j === 0 ? RIDGE : l2 + RIDGE;
      const at = k * dim + j;
      grad[at]! += r * beta[at]!;
      hess[at * total + at]! += r;
    }
  }
  for (let a = 0; a < total; a++)
    for (let b = a + 1; b < total; b++) hess[b * total + a] = hess[a * total + b]!;
  return { grad, hess };
}
