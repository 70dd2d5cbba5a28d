import type { WorkerHandle } from '../../jobs/index.js';

/*
 * `sextant worker --idle-exit <minutes>`: the worker watches itself and, once it has run no job for
 * that long, records the exit (audited), stops taking jobs and ends cleanly. A timer and not a job:
 * it is this process's own lifetime, not work for the cluster.
 */

export interface IdleExitOptions {
  idleMs: number;
  /** How often to look (default: a tenth of idleMs, between 50 ms and 30 s). */
  checkEveryMs?: number;
  now: () => number;
  /** Records the exit (the reaper's worker_exit); runs before the worker closes. */
  onExit: (e: { workerId: string; idleMs: number }) => Promise<unknown>;
}

/** `done` resolves once the worker has been idle for idleMs, recorded its exit and closed; `stop` gives up watching. */
export function exitWhenIdle(
  handle: WorkerHandle,
  o: IdleExitOptions,
): { done: Promise<{ idleMs: number }>; stop(): void } {
  const every = o.checkEveryMs ?? Math.min(30_000, Math.max(50, Math.floor(o.idleMs / 10)));
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<{ idleMs: number }>((resolve, reject) => {
    let busy = false;
    timer = setInterval(() => {
      const since = handle.idleSince();
      if (busy || since === null) return;
      const idle = o.now() - since;
      if (idle < o.idleMs) return;
      busy = true;
      clearInterval(timer);
      o.onExit({ workerId: handle.workerId, idleMs: idle })
        .then(() => handle.close())
        .then(() => resolve({ idleMs: idle }), reject);
    }, every);
  });
  return { done, stop: () => clearInterval(timer) };
}
