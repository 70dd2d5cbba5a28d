import os from 'node:os';
import type { RecordUsageInput } from './usage.schema.js';

/*
 * Meter for work that runs inside this process (a job attempt, an in-process training run): Node
 * gives CPU time and peak memory per process, not per task. Attempts running side by side therefore
 * share the process's CPU time over their interval evenly (the stated rule, docs/cost.md): each
 * attempt is charged the CPU delta divided by the most attempts it saw in flight at once. Peak memory
 * is the process's resident high-water mark, an upper bound for each attempt, and the record says so.
 */

let inFlight = 0;
const live = new Set<{ peers: number }>();

/** Starts metering an in-process task; stop() returns the usage to record (kind 'job' or 'run'). */
export function meterInProcess(kind: 'job' | 'run' = 'job'): {
  stop(attach?: Partial<RecordUsageInput>): RecordUsageInput;
} {
  const startedAt = Date.now();
  const cpu0 = process.cpuUsage();
  const me = { peers: 0 };
  inFlight++;
  live.add(me);
  for (const m of live) m.peers = Math.max(m.peers, inFlight);
  return {
    stop(attach = {}) {
      const d = process.cpuUsage(cpu0);
      live.delete(me);
      inFlight--;
      const shared = Math.max(1, me.peers);
      const notes = ['peak memory is the process high-water mark (in-process meter)'];
      if (shared > 1) notes.push(`cpu time shared evenly by ${shared} concurrent in-process tasks`);
      return {
        kind,
        startedAt,
        endedAt: Date.now(),
        host: os.hostname(),
        cpuSeconds: (d.user + d.system) / 1e6 / shared,
        peakMemoryBytes: process.resourceUsage().maxRSS * 1024,
        ...attach,
        notes: [...notes, ...(attach.notes ?? [])],
      };
    },
  };
}
