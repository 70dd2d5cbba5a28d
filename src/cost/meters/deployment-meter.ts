import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { defineJob } from '../../jobs/index.js';
import type { Db } from '../../store/index.js';
import { runtimesSince } from './deployment-meter.repo.js';
import type { ServedPredictions } from './served-predictions.js';
import { lastDeploymentUsageEnd } from './usage.repo.js';
import type { RecordUsageInput } from './usage.schema.js';

/*
 * Deployments are metered from what serving already records: each serving process (a deployment
 * runtime) heartbeats while up, so its uptime is [started_at, stopped_at or last beat). Each pass
 * records, per deployment, the instance-seconds since the previous pass's end, split over the model
 * versions that answered in that interval by their share of predictions (all to the deployment when
 * none did). Serving hosts do not measure their CPU time: a serving process is allocated one core
 * while up (requestedCpus), and the `serving` instance type prices the process-hour when the price
 * book lists it.
 */

export const DEPLOYMENT_METER_JOB = 'cost.meter-deployments';
/** How often deployments are metered (a pass records the interval since the last one). */
export const DEPLOYMENT_METER_EVERY_MS = 5 * 60_000;
/** The instance type a serving process is priced as (price book: instance_hour, instance_type: serving). */
export const SERVING_INSTANCE_TYPE = 'serving';
/** How far back the first pass looks for runtimes. */
const FIRST_PASS_LOOKBACK_MS = 24 * 3_600_000;

/** One pass: the usage records of every deployment that was up since its last metered interval. */
export async function meterDeployments({
  db,
  clock,
  served: log,
}: {
  db: Db;
  clock: Clock;
  served: ServedPredictions;
}): Promise<RecordUsageInput[]> {
  const now = clock.now();
  const runtimes = await runtimesSince({ tx: db, since: now - FIRST_PASS_LOOKBACK_MS });
  const byDeployment = new Map<string, typeof runtimes>();
  for (const r of runtimes)
    byDeployment.set(r.deployment_id, [...(byDeployment.get(r.deployment_id) ?? []), r]);
  const out: RecordUsageInput[] = [];
  for (const [deploymentId, rts] of byDeployment) {
    const from =
      (await lastDeploymentUsageEnd({ tx: db, deploymentId })) ?? Math.min(...rts.map((r) => r.started_at));
    // Up to the last sign of life, never past now (a skewed host clock could beat "in the future").
    const to = Math.min(now, Math.max(...rts.map((r) => r.stopped_at ?? r.beat_at)));
    if (to <= from) continue;
    const instanceMs = rts.reduce((s, r) => {
      const lo = Math.max(r.started_at, from);
      const hi = Math.min(r.stopped_at ?? r.beat_at, to);
      return s + Math.max(0, hi - lo);
    }, 0);
    if (instanceMs === 0) continue;
    const served = await log.countByVersion({ deploymentId, from, to });
    const total = served.reduce((s, v) => s + v.n, 0);
    const parts = total
      ? served.map((v) => ({ versionId: v.versionId, share: v.n / total, n: v.n }))
      : [{ versionId: undefined, share: 1, n: 0 }];
    for (const p of parts)
      out.push({
        kind: 'deployment',
        deploymentId,
        ...(p.versionId ? { modelVersionId: p.versionId } : {}),
        startedAt: from,
        endedAt: to,
        instanceType: SERVING_INSTANCE_TYPE,
        instanceSeconds: (instanceMs / 1000) * p.share,
        requestedCpus: (instanceMs / (to - from)) * p.share,
        predictions: p.n,
        host: [...new Set(rts.map((r) => r.host))].join(','),
        notes: ['cpu: not measured on serving hosts; one core per serving process allocated'],
      });
  }
  return out;
}

/** `cost.meter-deployments`: records each deployment's serving time since the last pass (system queue). */
export function deploymentMeterJob(deps: {
  db: Db;
  clock: Clock;
  served: ServedPredictions;
  record(records: RecordUsageInput[]): Promise<unknown>;
  queue: string;
}) {
  return defineJob({
    name: DEPLOYMENT_METER_JOB,
    payload: z.strictObject({}),
    queue: deps.queue,
    attempts: 1,
    timeoutMs: 300_000,
    handler: async () => {
      const records = await meterDeployments(deps);
      if (records.length) await deps.record(records);
      return { records: records.length };
    },
  });
}
