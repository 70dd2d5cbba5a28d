/*
 * Micro-batching: concurrent calls become one model run. A call queues its rows; the queue is
 * flushed on setImmediate (after the I/O callbacks of this loop turn, so every request parsed in the
 * same turn joins) and never on a timer, so a lone request waits for nothing. At most `maxInFlight`
 * runs are outstanding; calls that arrive meanwhile form the next batch, the way a group commit
 * does, which is what makes batches grow with load. A run takes whole calls up to `maxBatchRows`
 * rows (a single larger call runs alone).
 */

export interface BatchSlice<R> {
  result: R;
  /** Index of the caller's first row in the batch. */
  offset: number;
}

export interface BatcherStats {
  /** Model runs made. */
  runs: number;
  /** Calls submitted. */
  calls: number;
  /** Rows run. */
  rows: number;
  /** The most calls one run served. */
  maxCallsPerRun: number;
}

interface Job<R> {
  rows: readonly Record<string, unknown>[];
  resolve(slice: BatchSlice<R>): void;
  reject(err: unknown): void;
}

export interface MicroBatcherOptions {
  /** Rows per run at most (default 1024). */
  maxBatchRows?: number;
  /** Runs outstanding at once (default 1). */
  maxInFlight?: number;
}

/** Coalesces concurrent `submit` calls into runs of `execute`, and hands each caller its slice. */
export class MicroBatcher<R> {
  private queue: Job<R>[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly maxBatchRows: number;
  private readonly maxInFlight: number;
  private readonly counters: BatcherStats = { runs: 0, calls: 0, rows: 0, maxCallsPerRun: 0 };
  private idleWaiters: (() => void)[] = [];

  constructor(
    /** Runs the joined rows; `parts` are the calls they came from, in order (rows is their concatenation). */
    private readonly execute: (
      rows: readonly Record<string, unknown>[],
      parts: readonly (readonly Record<string, unknown>[])[],
    ) => Promise<R>,
    opts: MicroBatcherOptions = {},
  ) {
    this.maxBatchRows = Math.max(1, opts.maxBatchRows ?? 1024);
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 1);
  }

  /** Runs `rows` in the next batch; resolves with the batch's result and where the rows sit in it. */
  submit(rows: readonly Record<string, unknown>[]): Promise<BatchSlice<R>> {
    return new Promise<BatchSlice<R>>((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.counters.calls++;
      this.schedule();
    });
  }

  /** Calls queued or running. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): BatcherStats {
    return { ...this.counters };
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const jobs = this.take();
      this.inFlight++;
      void this.runJobs(jobs).finally(() => {
        this.inFlight--;
        // Whatever arrived while this run was out forms the next batch at once (no extra turn).
        if (this.queue.length > 0) this.flush();
        else if (this.inFlight === 0) this.wakeIdle();
      });
    }
  }

  private take(): Job<R>[] {
    let rows = 0;
    let k = 0;
    while (k < this.queue.length) {
      const n = this.queue[k]!.rows.length;
      if (k > 0 && rows + n > this.maxBatchRows) break;
      rows += n;
      k++;
    }
    const jobs = this.queue.slice(0, k);
    this.queue = this.queue.slice(k);
    return jobs;
  }

  private async runJobs(jobs: Job<R>[]): Promise<void> {
    const parts = jobs.map((j) => j.rows);
    const rows = jobs.length === 1 ? jobs[0]!.rows : parts.flat();
    this.counters.runs++;
    this.counters.rows += rows.length;
    if (jobs.length > this.counters.maxCallsPerRun) this.counters.maxCallsPerRun = jobs.length;
    try {
      const result = await this.execute(rows, parts);
      let offset = 0;
      for (const job of jobs) {
        job.resolve({ result, offset });
        offset += job.rows.length;
      }
    } catch (err) {
      if (jobs.length === 1) {
        jobs[0]!.reject(err);
        return;
      }
      // One caller's rows may have failed the whole run: run each call alone so only it fails.
      await Promise.all(
        jobs.map(async (job) => {
          try {
            this.counters.runs++;
            job.resolve({ result: await this.execute(job.rows, [job.rows]), offset: 0 });
          } catch (e) {
            job.reject(e);
          }
        }),
      );
    }
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
