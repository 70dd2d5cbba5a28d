/** How retries spread out: the delay after the first failure, doubling per attempt, up to a ceiling. */
export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Delay before retry n+1 after n failed attempts: exponential, with "equal jitter" in [d/2, d]. */
export function backoffMs(o: BackoffOptions, attempts: number, random: () => number): number {
  const d = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (attempts - 1));
  return Math.round(d / 2 + random() * (d / 2));
}
