/*
 * The median stopping rule (Golovin et al., "Google Vizier", 2017), on best-so-far validation
 * scores: after a warm-up, a trial stops at iteration i when its best score so far is worse than the
 * median of the other trials' best-so-far scores at iteration i. A trial that ended before i counts
 * with its final best; a trial still short of i does not count yet. `medianRuleStops` is the rule;
 * MedianStoppingBoard keeps the curves of one process in memory (`sextant sweep` against a server),
 * and the database board (sweep-board.ts) keeps them where trials on any worker read them.
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

/** Where a trial's reports go: it says after each iteration whether to stop the trial now. */
export interface StoppingBoard {
  /** Forgets trial t's curve (a retried trial starts it again). */
  reset(t: number): Promise<void>;
  /** Records trial t's score at iteration i (0-based, in order); true: stop the trial now. */
  report(t: number, i: number, score: number): Promise<boolean>;
  /** Marks trial t as ended: its last best stands for later iterations. */
  finish(t: number): Promise<void>;
}

/** The best-so-far score after `score`, given the previous best (NaN: none yet). */
export function bestSoFar(prev: number, score: number, higherIsBetter: boolean): number {
  const better = higherIsBetter ? score > prev : score < prev;
  return Number.isNaN(prev) || (!Number.isNaN(score) && better) ? score : prev;
}

/**
 * The rule: stop a trial whose best-so-far at iteration i is worse than the median of `others`, the
 * other trials' best-so-far at i (or final best, for trials that ended before i).
 */
export function medianRuleStops(
  o: Pick<MedianRuleOptions, 'warmup' | 'minTrials' | 'higherIsBetter'>,
  i: number,
  best: number,
  others: number[],
): boolean {
  if (i + 1 < o.warmup || Number.isNaN(best)) return false;
  const finite = others.filter((v) => !Number.isNaN(v));
  if (finite.length < o.minTrials) return false;
  const m = median(finite);
  return o.higherIsBetter ? m > best : m < best;
}

/** Layout: [lengths (trials) | done flags (trials) | curves (trials x maxIterations)]. */
function boardSize(o: Pick<MedianRuleOptions, 'trials' | 'maxIterations'>): number {
  return o.trials * (2 + o.maxIterations);
}

export class MedianStoppingBoard {
  private readonly o: MedianRuleOptions;
  private readonly cells: Float64Array;

  /** A fresh board starts zeroed (no trial has a curve yet). */
  constructor(opts: MedianRuleOptions) {
    this.o = opts;
    this.cells = new Float64Array(boardSize(opts));
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

  /**
   * Records trial t's score at iteration i (0-based, in order) and says whether to stop it now.
   * A NaN score (e.g. AUC of a one-class validation set) keeps the previous best and never stops a trial.
   */
  report(t: number, i: number, score: number): boolean {
    if (i >= this.o.maxIterations) return false;
    const prev = i > 0 ? this.at(t, i - 1) : Number.NaN;
    const best = bestSoFar(prev, score, this.o.higherIsBetter);
    this.cells[2 * this.o.trials + t * this.o.maxIterations + i] = best;
    this.cells[t] = i + 1;
    if (i + 1 < this.o.warmup || Number.isNaN(best)) return false;
    const others: number[] = [];
    for (let u = 0; u < this.o.trials; u++) {
      if (u === t) continue;
      const len = this.length(u);
      if (len > i) others.push(this.at(u, i));
      else if (this.done(u) && len > 0) others.push(this.at(u, len - 1));
    }
    return medianRuleStops(this.o, i, best, others);
  }

  /** Marks trial t as ended (finished or stopped): its last best stands for later iterations. */
  finish(t: number): void {
    this.cells[this.o.trials + t] = 1;
  }

  /** Trial t's best-so-far curve. */
  curve(t: number): number[] {
    return Array.from({ length: this.length(t) }, (_, i) => this.at(t, i));
  }

  /** Forgets trial t's curve. */
  reset(t: number): void {
    this.cells[t] = 0;
    this.cells[this.o.trials + t] = 0;
  }
}

/** This process's board as a StoppingBoard (the trials of one `sextant sweep` run here). */
export function memoryStoppingBoard(opts: MedianRuleOptions): StoppingBoard {
  const board = new MedianStoppingBoard(opts);
  return {
    reset: async (t) => board.reset(t),
    report: async (t, i, score) => board.report(t, i, score),
    finish: async (t) => board.finish(t),
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
