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
 * The meter of a child process (moved here from cli/ with the cost domain). The default interval
 * (50 ms) reads a few small /proc files per process in the tree: well under 1% of a core (bench/cost).
 */

/**
 * Samples a child process tree from /proc (Linux) until stopped. VmHWM is each process's own
 * high-water mark, so sampling catches the peak of every process it sees; CPU time is read from the
 * process's stat, last sample wins. Elsewhere both stay null and the run says so.
 */
export function meterProcess(pid: number, intervalMs = 50): { stop(): ProcessUsage; pids(): number[] } {
  if (!fs.existsSync('/proc/self/stat'))
    return { stop: () => ({ cpuSeconds: null, peakRssBytes: null }), pids: () => [pid] };
  let cpuTicks: number | null = null;
  let peak: number | null = null;
  let seen: number[] = [pid];
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
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    /** The process tree at the last sample (the GPU sampler matches its pids). */
    pids: () => seen,
    stop: () => {
      clearInterval(timer);
      return { cpuSeconds: cpuTicks === null ? null : cpuTicks / TICKS_PER_SECOND, peakRssBytes: peak };
    },
  };
}
