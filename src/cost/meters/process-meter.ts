import fs from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export interface ProcessUsage {
  /** CPU seconds (user + system) of the process and the children it waited for; null where unmeasurable. */
  cpuSeconds: number | null;
  /** Peak resident memory of the process tree seen, in bytes; null where unmeasurable. */
  peakRssBytes: number | null;
}

function readStat(pid: number): { cpuTicks: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(f[i] ?? 0);
    return { cpuTicks: n(11) + n(12) + n(13) + n(14) }; // utime, stime, cutime, cstime
  } catch {
    return undefined;
  }
}

/** CPU ticks of the children this process has reaped (cutime + cstime of /proc/self/stat). */
function reapedTicks(): number {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[13] ?? 0) + Number(f[14] ?? 0);
  } catch {
    return 0;
  }
}

function readHwm(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/*
 * The meter of a child process (moved here from cli/ with the cost domain). Samples start 50 ms apart,
 * so short commands are seen, and the gap doubles up to `maxIntervalMs` (400 ms): each sample reads a
 * few small /proc files per process in the tree, and at 50 ms for ever that cost 2.5% of a busy
 * child's CPU time (bench/cost), against a target of 1%. Peak memory loses nothing to a longer gap
 * (VmHWM is each process's own high-water mark); CPU time may miss at most the last gap.
 */

const FIRST_INTERVAL_MS = 50;

/**
 * Samples a child process tree from /proc (Linux) until stopped. VmHWM is each process's own
 * high-water mark, so sampling catches the peak of every process it sees; CPU time is read from the
 * process's stat, last sample wins. Elsewhere both stay null and the run says so.
 */
export function meterProcess(pid: number, maxIntervalMs = 400): { stop(): ProcessUsage; pids(): number[] } {
  if (!fs.existsSync('/proc/self/stat'))
    return { stop: () => ({ cpuSeconds: null, peakRssBytes: null }), pids: () => [pid] };
  let cpuTicks: number | null = null;
  let peak: number | null = null;
  let seen: number[] = [pid];
  const reaped0 = reapedTicks();
  const sample = () => {
    const s = readStat(pid);
    if (s) cpuTicks = Math.max(cpuTicks ?? 0, s.cpuTicks);
    let tree = 0;
    const stack = [pid];
    const pids: number[] = [];
    for (let guard = 0; stack.length > 0 && guard < 1000; guard++) {
      const p = stack.pop()!;
      pids.push(p);
      tree += readHwm(p) ?? 0;
      stack.push(...childrenOf(p));
    }
    seen = pids;
    if (tree > 0) peak = Math.max(peak ?? 0, tree);
  };
  sample();
  let gap = Math.min(FIRST_INTERVAL_MS, maxIntervalMs);
  let timer: NodeJS.Timeout;
  const tick = () => {
    sample();
    gap = Math.min(gap * 2, maxIntervalMs);
    timer = setTimeout(tick, gap).unref();
  };
  timer = setTimeout(tick, gap).unref();
  return {
    /** The process tree at the last sample (the GPU sampler matches its pids). */
    pids: () => seen,
    stop: () => {
      clearTimeout(timer);
      // Once the child has been waited for, its whole CPU time is in this process's reaped-children
      // ticks, the final gap after the last sample included. Other children reaped meanwhile (an
      // nvidia-smi sample) would add theirs, so this only ever raises the sampled figure.
      const reaped = reapedTicks() - reaped0;
      const ticks = cpuTicks === null ? null : Math.max(cpuTicks, reaped);
      return { cpuSeconds: ticks === null ? null : ticks / TICKS_PER_SECOND, peakRssBytes: peak };
    },
  };
}
