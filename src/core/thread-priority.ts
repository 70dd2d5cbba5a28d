import { readlinkSync } from 'node:fs';
import os from 'node:os';

/*
 * Background threads that must not take CPU from the event loop (the prediction log's seal thread):
 * on Linux a thread has its own nice value, set through setpriority with the thread's id, and CFS
 * gives a thread at nice 19 about 1.5% of a core while a nice-0 thread wants it, and every idle cycle
 * otherwise. Elsewhere a priority belongs to the whole process, so nothing is changed there.
 */

/** The niceness of background work: the lowest priority. */
export const BACKGROUND_NICENESS = 19;

/** The calling thread's id on Linux (/proc/thread-self names it), undefined elsewhere or when unreadable. */
export function currentThreadId(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // A /proc of another PID namespace would name another process's thread.
    if (readlinkSync('/proc/self') !== String(process.pid)) return undefined;
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isSafeInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lowers the calling thread's CPU priority to `niceness` (Linux only; a thread may always lower its
 * own). Threads it starts afterwards inherit it. Returns the niceness now in force, or undefined where
 * nothing was changed (another platform, or the call was refused).
 */
export function lowerThreadPriority(niceness = BACKGROUND_NICENESS): number | undefined {
  const tid = currentThreadId();
  if (tid === undefined) return undefined;
  try {
    os.setPriority(tid, niceness);
    return os.getPriority(tid);
  } catch {
    return undefined;
  }
}
