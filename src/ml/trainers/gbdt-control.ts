/*
 * The words the calling thread and the gbdt worker threads share (an Int32Array over a
 * SharedArrayBuffer): the calling thread writes a command and its arguments, bumps the generation
 * and wakes the workers (Atomics.notify); each does its part, counts itself done and sleeps again.
 */

/** Control word positions. */
export const Control = {
  /** Bumped once per command; workers sleep on it. */
  generation: 0,
  /** Workers yet to finish the current command; the calling thread sleeps on it. */
  pending: 1,
  begin: 2,
  end: 3,
  slot: 4,
  chosenCount: 5,
  /** 1: workers leave their loop at the next generation. */
  stop: 6,
  /** Workers that have started and wait for commands. */
  ready: 7,
  /** 1 once a worker failed; its message waits on its port. */
  failed: 8,
  /** What to do: one of Command. */
  command: 9,
  /** Gradients: 1 for squared error. Margins: the class whose margin the tree adds to. */
  arg: 10,
  /** Margins: the next gradients to compute after them (index in NEXT_GRADIENTS). */
  nextGradients: 11,
  /** Level steps: how many jobs space.jobs holds. */
  jobCount: 12,
  /** Threads taking part in the command (the calling thread's part 0 included); workers 1..parts-1 run it. */
  parts: 13,
  /** Level: workers yet to finish their share of the row jobs. */
  rowsPending: 14,
  /** Level: how many histogram jobs follow the row jobs; -1 until the calling thread has written them. */
  levelHistogramJobs: 15,
  length: 16,
} as const;

/** The steps workers share with the calling thread, and a fit's arrival and departure. */
export const Command = {
  histogram: 0,
  gradients: 1,
  margins: 2,
  rowJobs: 3,
  histogramJobs: 4,
  /** Take the fit's arrays (a message on the worker's port) and join its binning. */
  attach: 5,
  /** Drop the fit's arrays. */
  detach: 6,
  /**
   * A level in one hand-off: the row jobs, then (once every thread's share is done and the calling
   * thread has joined them and written the histogram jobs) the histogram jobs.
   */
  level: 7,
} as const;

/**
 * Reads of a control word a thread makes before it sleeps on it (about 10 ns each: some 160 us).
 * A fit hands work over about 7 times a tree (depth 6), every few hundred microseconds, and waking a
 * sleeping thread (a futex, and on a virtual machine an interrupt to an idle core) cost about 100 us
 * a hand-off on an idle 2-core machine, against about 50 us when both sides watch the word (a
 * ping-pong test). On a loaded machine the watch takes a core from whoever it waits for (about
 * 150 us more a hand-off there), but there two threads already gain nothing.
 */
const SPIN_READS = 1 << 14;

/** Whether word `index` of `control` leaves `value` within SPIN_READS reads (then no need to sleep). */
export function spinWhile(control: Int32Array, index: number, value: number): boolean {
  for (let r = 0; r < SPIN_READS; r++) if (Atomics.load(control, index) !== value) return true;
  return false;
}

/**
 * Blocks until word `index` of `control` leaves `value` and returns its new value: watches it first
 * (spinWhile), then sleeps in steps of `recheckMs`, calling `check` after each step (which throws to
 * give up: a thread that failed, a pool that was stopped, a deadline passed).
 */
export function waitWhile(
  control: Int32Array,
  index: number,
  value: number,
  recheckMs: number,
  check: () => void,
): number {
  for (;;) {
    const now = Atomics.load(control, index);
    if (now !== value) return now;
    if (spinWhile(control, index, value)) continue;
    Atomics.wait(control, index, value, recheckMs);
    check();
  }
}
