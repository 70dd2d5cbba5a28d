/*
 * The median stopping rule (Golovin et al., "Google Vizier", 2017), on best-so-far validation
 * scores: after a warm-up, a trial stops at iteration i when its best score so far is worse than the
 * median of the other trials' best-so-far scores at iteration i. A trial that ended before i counts
 * with its final best; a trial still short of i does not count yet. The board lives in one Float64Array
 * (optionally on a SharedArrayBuffer), so trials running in worker threads read each other's curves.
 */

export interface MedianRuleOptions {
  trials: number;
  /** Longest curve any trial may have (iterations). */
  maxIterations: number;
  /** No trial stops before this many iterations. */
  warmup: number;
  /** Other trials that must have reached i (or ended) before the rule judges. */
  minTrials: number;
  /** True when a larger score is better (AUC); false for RMSE. */
  higherIsBetter: boolean;
}

/** Layout: [lengths (trials) | done flags (trials) | curves (trials x maxIterations)]. */
export function medianBoardSize(o: Pick<MedianRuleOptions, 'trials' | 'maxIterations'>): number {
  return o.trials * (2 + o.maxIterations);
}

export class MedianStoppingBoard {
  private readonly o: MedianRuleOptions;
  private readonly cells: Float64Array;

  /** `cells` may be shared between threads; a fresh board starts zeroed (no trial has a curve yet). */
  constructor(opts: MedianRuleOptions, cells: Float64Array = new Float64Array(medianBoardSize(opts))) {
    this.o = opts;
    this.cells = cells;
  }

  private length(t: number): number {
    return this.cells[t]!;
  }
  private done(t: number): boolean {
    return this.cells[this.o.trials + t] === 1;
  }
  private at(t: number, i: number): number {
    return this.cells[2 * this.o.trials + t * this.o.maxIterations + i]!;
  }
  private better(a: number, b: number): boolean {
    return this.o.higherIsBetter ? a > b : a < b;
  }

  /**
   * Records trial t's score at iteration i (0-based, in order) and says whether to stop it now.
   * A NaN score (e.g. AUC of a one-class validation set) keeps the previous best and never stops a trial.
   */
  report(t: number, i: number, score: number): boolean {
    if (i >= this.o.maxIterations) return false;
    const prev = i > 0 ? this.at(t, i - 1) : Number.NaN;
    const best = Number.isNaN(prev) || (!Number.isNaN(score) && this.better(score, prev)) ? score : prev;
    this.cells[2 * this.o.trials + t * this.o.maxIterations + i] = best;
    // Write the value before the length, so a reader that sees the length sees the value.
    this.cells[t] = i + 1;
    if (i + 1 < this.o.warmup || Number.isNaN(best)) return false;
    const others: number[] = [];
    for (let u = 0; u < this.o.trials; u++) {
      if (u === t) continue;
      const len = this.length(u);
      if (len > i) others.push(this.at(u, i));
      else if (this.done(u) && len > 0) others.push(this.at(u, len - 1));
    }
    const finite = others.filter((v) => !Number.isNaN(v));
    if (finite.length < this.o.minTrials) return false;
    return this.better(median(finite), best);
  }

  /** Marks trial t as ended (finished or stopped): its last best stands for later iterations. */
  finish(t: number): void {
    this.cells[this.o.trials + t] = 1;
  }

  /** Trial t's best-so-far curve. */
  curve(t: number): number[] {
    return Array.from({ length: this.length(t) }, (_, i) => this.at(t, i));
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
