import { ValidationError } from '../../core/errors.js';
import { seededRandom } from '../../core/random.js';

/** Scores records: P(positive) for a classifier, the value otherwise (a Scorer's score). */
export type ScoreFn = (rows: Record<string, unknown>[]) => Promise<Float64Array>;

export interface KernelShapInput {
  /** The players: the model's features, in input order. */
  players: string[];
  record: Record<string, unknown>;
  background: Record<string, unknown>[];
  score: ScoreFn;
  /** Coalition budget; all 2^M - 2 coalitions are enumerated when they fit in it. */
  samples: number;
  seed: number;
}

export interface KernelShapResult {
  base: number;
  output: number;
  phi: Float64Array;
  /** True when every coalition was enumerated (the Shapley values of this background, exactly). */
  exact: boolean;
  tolerance: number;
  /** Distinct coalitions evaluated. */
  samples: number;
}

/** Bootstrap resamples for the sampling error (fewer when each least-squares solve is large). */
const BOOTSTRAP = 100;
const MIN_BOOTSTRAP = 20;
/** Rows one explanation may ask the model for (coalitions x background rows). */
export const MAX_KERNEL_ROWS = 2_000_000;
/** Values in those rows (rows x features): the hybrid records are held in memory at once. */
const MAX_KERNEL_CELLS = 40_000_000;

/**
 * KernelSHAP (Lundberg & Lee 2017): the Shapley values of v(S) = mean over background rows r of
 * f(x_S, r_rest) as the solution of a weighted least-squares problem over coalitions, weighted by the
 * Shapley kernel (M-1) / (C(M,|S|) |S| (M-|S|)), with sum(phi) = f(x) - E f(r) enforced exactly.
 * When 2^M - 2 coalitions fit the budget all are enumerated and the result is exact; otherwise
 * coalitions are drawn from the kernel distribution in complementary pairs, and the error of each
 * attribution is estimated by a bootstrap over the pairs. Every hybrid row goes to the model in one
 * score() call.
 */
export async function kernelShap(input: KernelShapInput): Promise<KernelShapResult> {
  const { players, record, background } = input;
  const m = players.length;
  const nb = background.length;
  if (nb === 0) throw new ValidationError('the background sample is empty', { field: 'background' });
  const plan = m >= 2 ? planCoalitions(m, input.samples, seededRandom(input.seed)) : undefined;
  const coalitions = plan?.masks ?? [];
  const total = 1 + nb * (1 + coalitions.length);
  if (total > MAX_KERNEL_ROWS || total * m > MAX_KERNEL_CELLS) {
    throw new ValidationError(
      `KernelSHAP would score ${total} rows (${coalitions.length} coalitions x ${nb} background rows); lower samples or the background size`,
      { field: 'samples' },
    );
  }
  const rows: Record<string, unknown>[] = new Array(total);
  rows[0] = record;
  for (let r = 0; r < nb; r++) rows[1 + r] = background[r]!;
  let at = 1 + nb;
  for (const mask of coalitions) {
    for (let r = 0; r < nb; r++) {
      const bgRow = background[r]!;
      const hybrid: Record<string, unknown> = {};
      for (let j = 0; j < m; j++) {
        const p = players[j]!;
        hybrid[p] = mask[j] ? record[p] : bgRow[p];
      }
      rows[at++] = hybrid;
    }
  }
  const scores = await input.score(rows);
  if (scores.length !== total) {
    throw new ValidationError(`the model gave ${scores.length} outputs for ${total} rows`, {
      field: 'model',
    });
  }
  for (let k = 0; k < total; k++) {
    if (!Number.isFinite(scores[k]!)) {
      throw new ValidationError(
        'the model gave a non-finite output on a mix of the record and the background',
        {
          field: 'model',
        },
      );
    }
  }
  const output = scores[0]!;
  let base = 0;
  for (let r = 0; r < nb; r++) base += scores[1 + r]!;
  base /= nb;
  const delta = output - base;
  if (m === 0) return { base, output, phi: new Float64Array(0), exact: true, tolerance: 0, samples: 0 };
  if (m === 1 || plan === undefined) {
    return {
      base,
      output,
      phi: Float64Array.of(delta),
      exact: true,
      tolerance: tiny(output, base),
      samples: 0,
    };
  }
  const values = new Float64Array(coalitions.length);
  for (let k = 0; k < coalitions.length; k++) {
    let s = 0;
    const o = 1 + nb + k * nb;
    for (let r = 0; r < nb; r++) s += scores[o + r]!;
    values[k] = s / nb - base;
  }
  const phi = solve(coalitions, plan.weights, values, delta, m);
  if (plan.pairs === undefined) {
    return { base, output, phi, exact: true, tolerance: tiny(output, base), samples: coalitions.length };
  }
  // Bootstrap over the drawn pairs: how much the estimate moves with the draw.
  const random = seededRandom(input.seed ^ 0x5bd1e995);
  const sum = new Float64Array(m);
  const sumSq = new Float64Array(m);
  const weights = new Float64Array(coalitions.length);
  const resamples = Math.max(
    MIN_BOOTSTRAP,
    Math.min(BOOTSTRAP, Math.floor(2e8 / (m * m * coalitions.length))),
  );
  for (let b = 0; b < resamples; b++) {
    weights.fill(0);
    for (let k = 0; k < plan.pairs.length; k++) {
      const [u, v] = plan.pairs[Math.floor(random() * plan.pairs.length)]!;
      weights[u] = weights[u]! + 1;
      weights[v] = weights[v]! + 1;
    }
    const est = solve(coalitions, weights, values, delta, m);
    for (let j = 0; j < m; j++) {
      sum[j] = sum[j]! + est[j]!;
      sumSq[j] = sumSq[j]! + est[j]! * est[j]!;
    }
  }
  let maxSd = 0;
  for (let j = 0; j < m; j++) {
    const mean = sum[j]! / resamples;
    const variance = Math.max(0, sumSq[j]! / resamples - mean * mean);
    maxSd = Math.max(maxSd, Math.sqrt(variance));
  }
  return {
    base,
    output,
    phi,
    exact: false,
    tolerance: 3 * maxSd + tiny(output, base),
    samples: coalitions.length,
  };
}

/** Float rounding of a sum of terms of this size. */
function tiny(output: number, base: number): number {
  return 1e-9 * Math.max(1, Math.abs(output), Math.abs(base));
}

interface Plan {
  masks: Uint8Array[];
  weights: Float64Array;
  /** Sampled plans: the drawn complementary pairs (indices into masks), for the bootstrap. */
  pairs?: [number, number][];
}

/** Enumerates all proper non-empty coalitions when they fit the budget, else draws pairs from the kernel. */
function planCoalitions(m: number, budget: number, random: () => number): Plan {
  if (m <= 30 && 2 ** m - 2 <= budget) {
    const masks: Uint8Array[] = [];
    const weights: number[] = [];
    for (let bits = 1; bits < 2 ** m - 1; bits++) {
      const mask = new Uint8Array(m);
      let size = 0;
      for (let j = 0; j < m; j++) {
        if ((bits >>> j) & 1) {
          mask[j] = 1;
          size++;
        }
      }
      masks.push(mask);
      weights.push(kernelWeight(m, size));
    }
    return { masks, weights: Float64Array.from(weights) };
  }
  // P(size s) is proportional to the kernel's total weight on size s, (M-1) / (s (M-s)); within a size
  // every coalition is equally likely, so each draw is a coalition drawn with its kernel weight.
  const cumulative: number[] = [];
  let acc = 0;
  for (let s = 1; s < m; s++) {
    acc += 1 / (s * (m - s));
    cumulative.push(acc);
  }
  const index = new Map<string, number>();
  const masks: Uint8Array[] = [];
  const counts: number[] = [];
  const pairs: [number, number][] = [];
  const order = Int32Array.from({ length: m }, (_, j) => j);
  const add = (mask: Uint8Array): number => {
    const key = mask.join('');
    let k = index.get(key);
    if (k === undefined) {
      k = masks.length;
      index.set(key, k);
      masks.push(mask);
      counts.push(0);
    }
    counts[k] = counts[k]! + 1;
    return k;
  };
  const draws = Math.max(1, Math.floor(budget / 2));
  for (let n = 0; n < draws; n++) {
    const u = random() * acc;
    let s = 1;
    while (s < m - 1 && cumulative[s - 1]! < u) s++;
    for (let j = 0; j < s; j++) {
      const pick = j + Math.floor(random() * (m - j));
      const tmp = order[j]!;
      order[j] = order[pick]!;
      order[pick] = tmp;
    }
    const mask = new Uint8Array(m);
    for (let j = 0; j < s; j++) mask[order[j]!] = 1;
    const complement = mask.map((b) => 1 - b);
    pairs.push([add(mask), add(complement)]);
  }
  return { masks, weights: Float64Array.from(counts), pairs };
}

function kernelWeight(m: number, size: number): number {
  return (m - 1) / (binomial(m, size) * size * (m - size));
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let j = 1; j <= k; j++) r = (r * (n - k + j)) / j;
  return r;
}

/**
 * Weighted least squares min sum_k w_k (v_k - z_k . phi)^2 subject to sum(phi) = delta, by
 * eliminating the last player: phi_last = delta - sum(others).
 */
function solve(
  masks: Uint8Array[],
  w: Float64Array,
  v: Float64Array,
  delta: number,
  m: number,
): Float64Array {
  const p = m - 1;
  const a = new Float64Array(p * p);
  const rhs = new Float64Array(p);
  const row = new Float64Array(p);
  for (let k = 0; k < masks.length; k++) {
    const wk = w[k]!;
    if (wk === 0) continue;
    const z = masks[k]!;
    const last = z[p]!;
    const y = v[k]! - last * delta;
    for (let i = 0; i < p; i++) row[i] = z[i]! - last;
    for (let i = 0; i < p; i++) {
      const ri = row[i]!;
      if (ri === 0) continue;
      rhs[i] = rhs[i]! + wk * ri * y;
      for (let j = 0; j < p; j++) a[i * p + j] = a[i * p + j]! + wk * ri * row[j]!;
    }
  }
  // A whisper of ridge keeps a sampled design that misses some player solvable.
  let maxDiag = 0;
  for (let i = 0; i < p; i++) maxDiag = Math.max(maxDiag, a[i * p + i]!);
  for (let i = 0; i < p; i++) a[i * p + i] = a[i * p + i]! + 1e-12 * maxDiag;
  const x = gaussSolve(a, rhs, p);
  const phi = new Float64Array(m);
  let rest = delta;
  for (let i = 0; i < p; i++) {
    phi[i] = x[i]!;
    rest -= x[i]!;
  }
  phi[p] = rest;
  return phi;
}

/** Solves A x = b (dense, row-major, n x n) by Gaussian elimination with partial pivoting. */
function gaussSolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const m = a.slice();
  const y = b.slice();
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++)
      if (Math.abs(m[r * n + col]!) > Math.abs(m[pivot * n + col]!)) pivot = r;
    if (m[pivot * n + col] === 0) continue; // a player no coalition separates: its share stays 0
    if (pivot !== col) {
      for (let c = 0; c < n; c++) {
        const t = m[col * n + c]!;
        m[col * n + c] = m[pivot * n + c]!;
        m[pivot * n + c] = t;
      }
      const t = y[col]!;
      y[col] = y[pivot]!;
      y[pivot] = t;
    }
    const d = m[col * n + col]!;
    for (let r = col + 1; r < n; r++) {
      const f = m[r * n + col]! / d;
      if (f === 0) continue;
      for (let c = col; c < n; c++) m[r * n + c] = m[r * n + c]! - f * m[col * n + c]!;
      y[r] = y[r]! - f * y[col]!;
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    const d = m[r * n + r]!;
    if (d === 0) continue;
    let s = y[r]!;
    for (let c = r + 1; c < n; c++) s -= m[r * n + c]! * x[c]!;
    x[r] = s / d;
  }
  return x;
}
