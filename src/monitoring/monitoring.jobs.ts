import { z } from 'zod';
import { defineJob } from '../jobs/index.js';
import type { MonitorService } from './monitor.service.js';
import { specOf } from './monitor.service.js';
import type { MonitorRunService } from './monitor-run.service.js';
import { scheduledWindow } from './monitor-run.service.js';

/*
 * Monitors run as jobs: a repeatable `monitoring.schedule` pass (keyed, so once per tick across
 * replicas) enqueues one `monitoring.run` per monitor whose next window has closed, with an
 * idempotency key of (monitor, window end): two replicas' passes enqueue it once. `monitor run`
 * on demand runs in the caller's process instead (it prints the result).
 */

export const MONITORING_QUEUE = 'system';
export const MONITORING_RUN_JOB = 'monitoring.run';
export const MONITORING_SCHEDULE_JOB = 'monitoring.schedule';
/** Windows are checked this often; a window is run once after it closes. */
export const MONITORING_SCHEDULE_EVERY_MS = 60_000;

export const monitoringRunPayloadSchema = z.strictObject({
  monitorId: z.string(),
  windowStart: z.number().int(),
  windowEnd: z.number().int(),
  rows: z.number().int().positive().optional(),
});

/** `monitoring.run`: one monitor over one window (its points stored, monitor.run.completed emitted). */
export function monitoringRunJob(runs: Pick<MonitorRunService, 'run'>) {
  return defineJob({
    name: MONITORING_RUN_JOB,
    payload: monitoringRunPayloadSchema,
    queue: MONITORING_QUEUE,
    attempts: 3,
    timeoutMs: 600_000,
    handler: async (p) => {
      const out = await runs.run({
        actor: 'system',
        monitorId: p.monitorId,
        trigger: 'schedule',
        window: { start: p.windowStart, end: p.windowEnd, ...(p.rows ? { rows: p.rows } : {}) },
      });
      return { runId: out.run.id, points: out.points.length };
    },
  });
}

/** `monitoring.schedule`: enqueues the runs whose windows closed since each monitor's last run. */
export function monitoringScheduleJob(deps: {
  monitors: Pick<MonitorService, 'list' | 'getRow'>;
  runs: Pick<MonitorRunService, 'lastCompletedEnd'>;
  enqueue: (name: string, payload: unknown, options: { key: string }) => Promise<unknown>;
  now: () => number;
}) {
  return defineJob({
    name: MONITORING_SCHEDULE_JOB,
    payload: z.strictObject({}),
    queue: MONITORING_QUEUE,
    attempts: 1,
    timeoutMs: 120_000,
    handler: async () => {
      let enqueued = 0;
      const now = deps.now();
      for (const m of await deps.monitors.list()) {
        const spec = specOf(await deps.monitors.getRow(m.id));
        const w = scheduledWindow(spec, now);
        const last = await deps.runs.lastCompletedEnd(m.id);
        if (w.rows === undefined && last !== undefined && last >= w.end) continue;
        // Count windows run once per tick; time windows once per window end.
        const tick = w.rows === undefined ? w.end : Math.floor(now / MONITORING_SCHEDULE_EVERY_MS);
        await deps.enqueue(
          MONITORING_RUN_JOB,
          { monitorId: m.id, windowStart: w.start, windowEnd: w.end, ...(w.rows ? { rows: w.rows } : {}) },
          { key: `${MONITORING_RUN_JOB}:${m.id}:${tick}` },
        );
        enqueued++;
      }
      return { enqueued };
    },
  });
}
