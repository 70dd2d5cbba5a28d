import { ValidationError } from '../../core/errors.js';
import type { EncodedRows, FeatureEncoding } from './feature-encoding.js';
import { categoryOffsets, encodedWidth } from './feature-encoding.js';
import type { IterationCallback, IterationInfo, Task } from './trainer.types.js';
import { param } from './trainer-params.js';
import { sigmoid, validationScore } from './validation-score.js';

/** A fitted linear model over the encoded (standardised numeric + one-hot) columns. */
export interface LinearCore {
  weights: Float64Array;
  intercept: number;
}

interface LinearFit {
  task: Task;
  enc: FeatureEncoding;
  x: EncodedRows;
  y: Float64Array;
  trainRows: Uint32Array;
  validRows: Uint32Array;
  params: Record<string, number>;
  onIteration?: IterationCallback | undefined;
}

/**
 * Minimises sum(loss) + l2/2 * |w|^2 by full-batch Newton steps with backtracking (IRLS for the
 * logistic loss; one exact step for squared error). No randomness: the seed does not matter.
 */
export function fitLinear(fit: LinearFit): LinearCore {
  const { task, enc, x, y, trainRows, validRows, params } = fit;
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
  const dim = d + 1; // intercept at 0
  let beta: Float64Array = new Float64Array(dim);
  if (task === 'regression') {
    let s = 0;
    for (const i of trainRows) s += y[i]!;
    beta[0] = s / trainRows.length;
  }
  beta = newtonMinimize(beta, {
    maxIter,
    tol,
    objective: (b) => objectiveOf(task, design, y, trainRows, b, l2),
    system: (b) => newtonSystem(task, design, y, trainRows, b, l2),
    afterStep: (iter, b) => {
      if (!fit.onIteration) return true;
      const info: IterationInfo = { iteration: iter, of: maxIter };
      if (validRows.length > 0) {
        const m = new Float64Array(validRows.length);
        for (let k = 0; k < validRows.length; k++) m[k] = design.margin(validRows[k]!, b);
        info.validation = validationScore(task, y, validRows, m);
      }
      return fit.onIteration(info) !== false;
    },
  });
  return { weights: beta.slice(1), intercept: beta[0]! };
}

/**
 * Full Newton steps with backtracking (halving the step until the objective does not rise) from
 * `start`, until the objective improves by less than `tol` of itself, `maxIter` steps, or
 * `afterStep` returns false. Shared by the binary/ridge and the softmax trainers.
 */
export function newtonMinimize(
  start: Float64Array,
  s: {
    maxIter: number;
    tol: number;
    objective(beta: Float64Array): number;
    system(beta: Float64Array): { grad: Float64Array; hess: Float64Array };
    afterStep(iteration: number, beta: Float64Array): boolean;
  },
): Float64Array {
  const dim = start.length;
  let beta: Float64Array = start;
  let objective = s.objective(beta);
  for (let iter = 1; iter <= s.maxIter; iter++) {
    const { grad, hess } = s.system(beta);
    const step = choleskySolve(hess, grad, dim);
    let t = 1;
    let next = beta;
    let nextObjective = objective;
    for (let halvings = 0; halvings < 40; halvings++) {
      const candidate = new Float64Array(dim);
      for (let j = 0; j < dim; j++) candidate[j] = beta[j]! - t * step[j]!;
      const o = s.objective(candidate);
      if (o <= objective) {
        next = candidate;
        nextObjective = o;
        break;
      }
      t /= 2;
    }
    const improvement = objective - nextObjective;
    beta = next;
    objective = nextObjective;
    if (!s.afterStep(iter, beta)) break;
    if (improvement <= s.tol * Math.max(1, Math.abs(objective))) break;
  }
  return beta;
}

/** Margins of encoded rows, in the order of operations of the ONNX graph (Sub, Div, MatMul, Add). */
export function linearMargin(core: LinearCore, enc: FeatureEncoding, x: EncodedRows): Float64Array {
  const design = new Design(enc, x);
  const beta = new Float64Array(core.weights.length + 1);
  beta[0] = core.intercept;
  beta.set(core.weights, 1);
  const out = new Float64Array(x.n);
  for (let i = 0; i < x.n; i++) out[i] = design.margin(i, beta);
  return out;
}

/** Sparse view of the design matrix with an intercept column at 0: per row, the non-zero columns. */
export class Design {
  private readonly z: Float64Array[];
  private readonly codes: Int32Array[];
  private readonly offsets: number[];
  readonly idx: Int32Array;
  readonly val: Float64Array;

  constructor(enc: FeatureEncoding, x: EncodedRows) {
    this.z = x.numeric.map((col, j) => {
      const { mean, std } = enc.numeric[j]!;
      return Float64Array.from(col, (v) => (v - mean) / std);
    });
    this.codes = x.codes;
    this.offsets = categoryOffsets(enc).map((o) => o + 1);
    this.idx = new Int32Array(1 + this.z.length + this.codes.length);
    this.val = new Float64Array(this.idx.length);
  }

  /** Fills idx/val with row i's non-zeros and returns how many there are. */
  row(i: number): number {
    let nnz = 0;
    this.idx[nnz] = 0;
    this.val[nnz++] = 1;
    for (let j = 0; j < this.z.length; j++) {
      this.idx[nnz] = j + 1;
      this.val[nnz++] = this.z[j]![i]!;
    }
    for (let j = 0; j < this.codes.length; j++) {
      const c = this.codes[j]![i]!;
      if (c >= 0) {
        this.idx[nnz] = this.offsets[j]! + c;
        this.val[nnz++] = 1;
      }
    }
    return nnz;
  }

  margin(i: number, beta: Float64Array): number {
    // Same order as MatMul then Add: the weighted sum first, the intercept last.
    let s = 0;
    for (let j = 0; j < this.z.length; j++) s += this.z[j]![i]! * beta[j + 1]!;
    for (let j = 0; j < this.codes.length; j++) {
      const c = this.codes[j]![i]!;
      if (c >= 0) s += beta[this.offsets[j]! + c]!;
    }
    return s + beta[0]!;
  }
}

function objectiveOf(
  task: Task,
  design: Design,
  y: Float64Array,
  rows: Uint32Array,
  beta: Float64Array,
  l2: number,
): number {
  let loss = 0;
  for (const i of rows) {
    const m = design.margin(i, beta);
    const yi = y[i]!;
    // log(1 + e^m) - y*m, written to stay finite for large |m|.
    loss +=
      task === 'regression'
        ? 0.5 * (m - yi) * (m - yi)
        : Math.max(m, 0) + Math.log1p(Math.exp(-Math.abs(m))) - yi * m;
  }
  let penalty = 0;
  for (let j = 1; j < beta.length; j++) penalty += beta[j]! * beta[j]!;
  return loss + 0.5 * l2 * penalty;
}

function newtonSystem(
  task: Task,
  design: Design,
  y: Float64Array,
  rows: Uint32Array,
  beta: Float64Array,
  l2: number,
): { grad: Float64Array; hess: Float64Array } {
  const dim = beta.length;
  const grad = new Float64Array(dim);
  const hess = new Float64Array(dim * dim); // upper triangle filled, then mirrored
  const { idx, val } = design;
  for (const i of rows) {
    const m = design.margin(i, beta);
    let g: number;
    let h: number;
    if (task === 'regression') {
      g = m - y[i]!;
      h = 1;
    } else {
      const p = sigmoid(m);
      g = p - y[i]!;
      h = Math.max(p * (1 - p), 1e-12);
    }
    const nnz = design.row(i);
    for (let a = 0; a < nnz; a++) {
      const ia = idx[a]!;
      const va = val[a]!;
      grad[ia] = grad[ia]! + g * va;
      const hv = h * va;
      for (let b = a; b < nnz; b++) {
        const ib = idx[b]!;
        const cell = ia <= ib ? ia * dim + ib : ib * dim + ia;
        hess[cell] = hess[cell]! + hv * val[b]!;
      }
    }
  }
  // A tiny ridge keeps constant or empty one-hot columns solvable when l2 is 0.
  for (let j = 0; j < dim; j++) {
    const ridge = j === 0 ? 1e-10 : l2 + 1e-10;
    grad[j] = grad[j]! + (j === 0 ? 0 : l2 * beta[j]!);
    hess[j * dim + j] = hess[j * dim + j]! + ridge;
  }
  for (let a = 0; a < dim; a++) for (let b = a + 1; b < dim; b++) hess[b * dim + a] = hess[a * dim + b]!;
  return { grad, hess };
}

/** Solves H x = g for symmetric positive definite H (dense, row-major). */
function choleskySolve(h: Float64Array, g: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let diag = h[j * n + j]!;
    for (let k = 0; k < j; k++) diag -= l[j * n + k]! * l[j * n + k]!;
    if (!(diag > 0)) throw new Error('linear trainer: Hessian is not positive definite');
    const ljj = Math.sqrt(diag);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = h[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / ljj;
    }
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = g[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * z[k]!;
    z[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}
