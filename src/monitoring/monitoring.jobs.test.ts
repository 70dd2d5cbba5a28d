import { describe, expect, it } from 'vitest';
import type { MonitorTable } from '../store/schema-monitoring.js';
import type { Monitor } from './monitor.schema.js';
import { parseMonitorSpec } from './monitor-spec.js';
import { MONITORING_RUN_JOB, monitoringScheduleJob } from './monitoring.jobs.js';

/*
 * The schedule pass with its ports in memory: which windows it enqueues and under which keys (the
 * queue's idempotency key is what makes a window run once across replicas; its contract suite tests
 * the queue side).
 */

const HOUR = 3_600_000;
const T = Date.UTC(2026, 5, 1, 10, 30);

function setup(specYaml: string) {
  const spec = parseMonitorSpec(specYaml);
  const row = { id: 'mon_a', spec: JSON.stringify(spec) } as MonitorTable;
  const enqueued: { name: string; payload: unknown; key: string }[] = [];
  let lastEnd: number | undefined;
  let now = T;
  const job = monitoringScheduleJob({
    monitors: { list: async () => [{ id: 'mon_a' } as Monitor], getRow: async () => row },
    runs: { lastCompletedEnd: async () => lastEnd },
    enqueue: async (name, payload, options) => {
      enqueued.push({ name, payload, key: options.key });
    },
    now: () => now,
  });
  const pass = () => job.handler({}, {} as never);
  return {
    enqueued,
    pass,
    complete: (end: number) => {
      lastEnd = end;
    },
    at: (t: number) => {
      now = t;
    },
  };
}

describe('monitoring.schedule', () => {
  it('enqueues the last closed window once per window end: two passes (two replicas) share its key', async () => {
    const s = setup('name: m\nwindow: 1h\n');
    await s.pass();
    await s.pass();
    const end = Date.UTC(2026, 5, 1, 10);
    expect(s.enqueued).toEqual([
      {
        name: MONITORING_RUN_JOB,
        payload: { monitorId: 'mon_a', windowStart: end - HOUR, windowEnd: end },
        key: `${MONITORING_RUN_JOB}:mon_a:${end}`,
      },
      {
        name: MONITORING_RUN_JOB,
        payload: { monitorId: 'mon_a', windowStart: end - HOUR, windowEnd: end },
        key: `${MONITORING_RUN_JOB}:mon_a:${end}`,
      },
    ]);
  });

  it('a window already run is not enqueued again; the next one is once it closes', async () => {
    const s = setup('name: m\nwindow: 1h\n');
    s.complete(Date.UTC(2026, 5, 1, 10));
    await s.pass();
    expect(s.enqueued).toEqual([]);
    s.at(T + HOUR);
    await s.pass();
    expect(s.enqueued.map((e) => e.payload)).toEqual([
      { monitorId: 'mon_a', windowStart: Date.UTC(2026, 5, 1, 10), windowEnd: Date.UTC(2026, 5, 1, 11) },
    ]);
  });

  it('count windows run once per tick with their row count', async () => {
    const s = setup('name: m\nwindow: { rows: 500 }\n');
    await s.pass();
    expect(s.enqueued[0]?.payload).toEqual({ monitorId: 'mon_a', windowStart: 0, windowEnd: T, rows: 500 });
    expect(s.enqueued[0]?.key).toBe(`${MONITORING_RUN_JOB}:mon_a:${Math.floor(T / 60_000)}`);
  });
});
