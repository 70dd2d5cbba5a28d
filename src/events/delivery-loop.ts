/*
 * The after-commit kick and the optional retry loop every outbox deliverer shares (webhooks, and the
 * subscribers of the event bus).
 *
 * emit() runs inside the caller's transaction, which commits (or not) after it returns, and Kysely has
 * no after-commit hook. So the emitting process "watches" the rows it wrote: it runs delivery passes,
 * backing off from 10 to 500 ms, until each watched row shows up attempted, or gives up after WATCH_MS
 * (the transaction rolled back, or another replica took the rows). Nothing here is needed for
 * correctness: a row the kick misses stays due, and the next deliverDue() pass (the periodic job, a
 * started loop, or another replica) picks it up.
 */

/** How long a freshly emitted row is watched for its transaction to commit. */
const WATCH_MS = 30_000;

export interface DeliveryLoopDeps {
  /** One delivery pass: claim what is due and attempt it. */
  runOnce: () => Promise<unknown>;
  /** Of some watched rows, those visible now and whether each was attempted at least once. */
  progress: (ids: string[]) => Promise<{ id: string; settled: boolean }[]>;
  /** Period of the loop start() runs. */
  pollMs: number;
  /** How long flush() waits by default. */
  flushTimeoutMs: number;
}

export function createDeliveryLoop(deps: DeliveryLoopDeps) {
  const { runOnce, progress } = deps;
  /** Rows this process emitted and has not yet seen attempted: id -> give-up time. */
  const watched = new Map<string, number>();
  let draining: Promise<void> | undefined;
  let loop: NodeJS.Timeout | undefined;
  let looping: Promise<unknown> | undefined;
  let closed = false;
  /** Set while flushing: the caller's transactions are over, so a row still invisible was rolled back. */
  let settling = false;

  async function drain(): Promise<void> {
    let wait = 10;
    while (watched.size && !closed) {
      await runOnce();
      const ids = [...watched.keys()];
      const seen = await progress(ids);
      const now = Date.now();
      for (const s of seen) if (s.settled) watched.delete(s.id);
      if (settling) {
        const visible = new Set(seen.map((s) => s.id));
        for (const id of ids) if (!visible.has(id)) watched.delete(id);
      }
      for (const [id, until] of watched) if (until < now) watched.delete(id);
      if (!watched.size) break;
      await new Promise((r) => setTimeout(r, wait).unref());
      wait = Math.min(wait * 2, 500);
    }
  }

  function kick(): void {
    if (draining || closed) return;
    draining = drain()
      // A failed pass (database gone, shutting down) leaves rows pending for the loop or the next process.
      .catch(() => watched.clear())
      .finally(() => {
        draining = undefined;
        if (watched.size && !closed) kick();
      });
  }

  async function flush(timeoutMs = deps.flushTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    settling = true;
    try {
      if (watched.size) kick();
      while ((draining || looping) && Date.now() < deadline) {
        // A referenced timer: the caller awaits flush(), so the process must stay alive while the drain
        // sleeps between passes (its own timers are unreferenced; alone they would let Node exit with
        // the caller's await unsettled).
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([draining, looping]),
          new Promise((r) => {
            timer = setTimeout(r, Math.max(1, deadline - Date.now()));
          }),
        ]);
        clearTimeout(timer);
      }
    } finally {
      settling = false;
    }
  }

  return {
    /** Starts delivering these new rows as soon as their transaction has committed. */
    watch(ids: readonly string[]): void {
      if (!ids.length) return;
      const until = Date.now() + WATCH_MS;
      for (const id of ids) watched.set(id, until);
      kick();
    },
    /**
     * Starts a loop that runs a pass every pollMs. Explicit: a service never starts it by itself; the
     * server calls it until the periodic pass runs as a repeatable job.
     */
    start(): void {
      if (loop || closed) return;
      loop = setInterval(() => {
        if (looping) return;
        looping = runOnce()
          .catch(() => undefined)
          .finally(() => {
            looping = undefined;
          });
      }, deps.pollMs);
      loop.unref();
    },
    /**
     * Waits (at most timeoutMs) until what this process emitted has been attempted once. Call it after
     * the emitting transactions have ended: what is still not in the database then was rolled back,
     * and is not waited for.
     */
    flush,
    /** Stops the loop, gives pending sends a short while, and stops watching. */
    async close(timeoutMs = deps.flushTimeoutMs): Promise<void> {
      if (loop) clearInterval(loop);
      loop = undefined;
      await flush(timeoutMs);
      closed = true;
      watched.clear();
    },
  };
}

export type DeliveryLoop = ReturnType<typeof createDeliveryLoop>;
