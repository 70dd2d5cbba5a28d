/**
 * Benjamini-Hochberg step-up adjusted p-values: p_adj(i) = min over j >= i of p(j) * m / j (sorted
 * ascending), capped at 1. Rejecting where p_adj <= q controls the false discovery rate at q.
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const adjusted = new Array<number>(m).fill(1);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const { p, i } = order[r] as { p: number; i: number };
    running = Math.min(running, (p * m) / (r + 1));
    adjusted[i] = Math.min(1, running);
  }
  return adjusted;
}
