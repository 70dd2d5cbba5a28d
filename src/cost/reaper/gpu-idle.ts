import type { ReaperPolicy } from './reaper-policy.js';

/*
 * GPU jobs that hold a GPU and barely use it. The utilisation comes through a port (C1's nvidia-smi
 * sampler implements it); a job whose utilisation stays under the policy's share for the policy's
 * minutes, sample after sample, is flagged (audited) or stopped (cancelled), once per job. A job with
 * no reading (no sampler, nvidia-smi failing) is never acted on.
 */

/** Average GPU utilisation (percent, 0..100) of a running job over its last sample; null when unknown. */
export interface GpuUtilisation {
  utilisation(jobId: string): Promise<number | null>;
}

export interface GpuIdleWatchDeps {
  policy: ReaperPolicy['gpu'];
  gpu: GpuUtilisation;
  now: () => number;
  /** Acts on a job idle long enough: the reaper records it; with action 'stop' the job is cancelled too. */
  onIdle: (e: {
    jobId: string;
    idleMs: number;
    utilisation: number;
    action: 'flag' | 'stop';
  }) => Promise<unknown>;
}

export function createGpuIdleWatch(deps: GpuIdleWatchDeps) {
  /** Since when each job has stayed under the threshold. */
  const lowSince = new Map<string, number>();
  const acted = new Set<string>();
  return {
    /** Looks at the GPU jobs running now; returns the ones acted on by this look. */
    async observe(jobIds: readonly string[]): Promise<string[]> {
      const running = new Set(jobIds);
      for (const id of [...lowSince.keys()]) if (!running.has(id)) lowSince.delete(id);
      const now = deps.now();
      const out: string[] = [];
      for (const jobId of jobIds) {
        if (acted.has(jobId)) continue;
        const u = await deps.gpu.utilisation(jobId);
        if (u === null || u >= deps.policy.minUtilisationPercent) {
          lowSince.delete(jobId);
          continue;
        }
        const since = lowSince.get(jobId) ?? now;
        lowSince.set(jobId, since);
        if (now - since < deps.policy.minutes * 60_000) continue;
        acted.add(jobId);
        await deps.onIdle({ jobId, idleMs: now - since, utilisation: u, action: deps.policy.action });
        out.push(jobId);
      }
      return out;
    },
  };
}
