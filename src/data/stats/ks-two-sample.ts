import { kolmogorovSf } from './kolmogorov.js';

/*
 * The two-sided p-value of scipy.stats.ks_2samp(method='auto'): exact lattice-path counts while both
 * samples have at most 10,000 values (Hodges; Viehmann's stable recursion for unequal sizes), else
 * kstwo.sf(D, round(n m / (n + m))). Ported so that our p-values equal scipy's to 1e-6.
 */

const MAX_AUTO_N = 10000;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** numpy's round: halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Pr(D_{n,n} >= h/n), Horner form of the alternating binomial series. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/** 1 - (paths staying strictly inside |x/m - y/n| < h/lcm) / all paths, by columns (m >= n). */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let j = minj; j < maxj; j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((A[jj + minj - lastminj] as number) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen)
      for (let k = maxj - minj; k < maxj - minj + (lastlen - curlen) && k < lenA; k++) A[k] = 1;
  }
  return A[maxj - minj - 1] as number;
}

/** Two-sided p-value of a two-sample KS statistic d for sizes n1 and n2, as scipy's ks_2samp (auto). */
export function ksTwoSamplePValue(d: number, n1: number, n2: number): number {
  if (n1 <= 0 || n2 <= 0 || !Number.isFinite(d)) return Number.NaN;
  if (Math.max(n1, n2) <= MAX_AUTO_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    if (h === 0) return 1;
    const p = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
    if (Number.isFinite(p) && p >= 0 && p <= 1) return p;
    // As scipy: an exact computation that fails numerically falls back to the asymptotic one.
  }
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  return Math.min(1, Math.max(0, kolmogorovSf(roundHalfEven(en), d)));
}
