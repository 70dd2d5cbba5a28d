import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeEachBackend } from '../../../test/support/backends.js';
import { createAuditLog } from '../../audit/index.js';
import { fakeClock, systemClock } from '../../core/clock.js';
import { isAppError } from '../../core/errors.js';
import { createInProcessJobQueue } from '../../jobs/index.js';
import {
  createAutoscalerMetrics,
  createGpuIdleWatch,
  createReaper,
  DEFAULT_REAPER_POLICY,
  exitWhenIdle,
  parseReaperPolicy,
} from './index.js';

/*
 * The reaper's parts that need no model: a worker that runs out of work exits cleanly and leaves an
 * audited record; the savings report adds unloads up to their wakes; the GPU watch acts once, only
 * after the whole idle span; the policy file refuses what it does not know.
 */

const HOUR = 3_600_000;
let seq = 0;
const uniq = (p: string) => `${p}-${Date.now().toString(36)}-${++seq}`;

describeEachBackend('idle reaper', (get) => {
  const auditOf = () =>
    createAuditLog({ db: get().db, dialect: get().dialect, clock: systemClock, key: 'k'.repeat(32) });

  it('a worker with no job for the idle time exits cleanly, and the exit is recorded and audited', async () => {
    const store = get();
    const audit = auditOf();
    const reaper = createReaper({ db: store.db, audit, clock: systemClock, policy: DEFAULT_REAPER_POLICY });
    const queue = createInProcessJobQueue(
      { db: store.db, dialect: store.dialect, audit, clock: systemClock },
      { pollMs: 20 },
    );
    const name = uniq('reaper.work');
    const ran: number[] = [];
    queue.define({
      name,
      queue: name.replace(/\./g, '-'),
      payload: z.object({ n: z.number() }),
      handler: async (p) => ran.push(p.n),
    });
    const lane = name.replace(/\./g, '-');
    const worker = queue.work({ queues: [lane] });
    const first = await queue.enqueue(name, { n: 1 });
    const watch = exitWhenIdle(worker, {
      idleMs: 300,
      checkEveryMs: 25,
      now: () => Date.now(),
      onExit: (e) => reaper.record({ kind: 'worker_exit', target: e.workerId, idleMs: e.idleMs }),
    });
    const { idleMs } = await watch.done;
    expect(idleMs).toBeGreaterThanOrEqual(300);
    expect((await queue.get(first.id)).status).toBe('completed');
    // Closed: a job enqueued now waits for another worker.
    const later = await queue.enqueue(name, { n: 2 });
    await new Promise((r) => setTimeout(r, 150));
    expect((await queue.get(later.id)).status).toBe('queued');
    expect(ran).toEqual([1]);
    const actions = (await reaper.list()).filter((a) => a.target === worker.workerId);
    expect(actions.map((a) => a.kind)).toEqual(['worker_exit']);
    const audited = await audit.list({ entityType: 'worker', entityId: worker.workerId });
    expect(audited.map((e) => e.action)).toEqual(['reaper.worker_exit']);
    expect(queue.load()).toEqual({ slots: 0, busy: 0 });
    expect((await queue.depth()).find((d) => d.queue === lane)).toEqual({
      queue: lane,
      waiting: 1,
      held: 0,
      active: 0,
    });
    await queue.cancel({ actor: 'test', id: later.id });
    await queue.close();
  });

  it('the savings report counts each unload until its wake, and the cold starts paid', async () => {
    const store = get();
    const clock = fakeClock(Date.UTC(2026, 5, 1));
    const policy = {
      ...DEFAULT_REAPER_POLICY,
      rates: { workerHour: 0.5, deploymentHour: 2, currency: 'EUR' },
    };
    const reaper = createReaper({ db: store.db, audit: auditOf(), clock, policy });
    const from = clock.now();
    const dep = uniq('dep');
    await reaper.record({ kind: 'deployment_unload', target: dep, idleMs: 30 * 60_000 });
    clock.advance(3 * HOUR);
    await reaper.record({ kind: 'deployment_wake', target: dep, coldStartMs: 120 });
    clock.advance(HOUR);
    await reaper.record({ kind: 'deployment_unload', target: dep, idleMs: 30 * 60_000 });
    clock.advance(HOUR);
    await reaper.record({ kind: 'worker_exit', target: uniq('wrk'), idleMs: 600_000 });
    clock.advance(2 * HOUR);
    const r = await reaper.savings({ from, to: clock.now() });
    // 3 h until the wake, then 3 h from the second unload to the window's end.
    expect(r.deployments).toEqual({
      unloads: 2,
      wakes: 1,
      hoursSaved: 6,
      coldStartMs: { count: 1, mean: 120, max: 120 },
    });
    expect(r.workers).toEqual({ exits: 1, hoursSaved: 2 });
    expect(r.amountSaved).toBeCloseTo(6 * 2 + 2 * 0.5, 9);
    expect(r.currency).toBe('EUR');
  });
});

describe('GPU idle watch', () => {
  it('acts once, only after utilisation stayed under the share for the whole span', async () => {
    const clock = fakeClock();
    const readings = new Map<string, number | null>([
      ['job_a', 3],
      ['job_b', 55],
      ['job_c', null],
    ]);
    const acted: { jobId: string; action: string }[] = [];
    const watch = createGpuIdleWatch({
      policy: { minUtilisationPercent: 10, minutes: 30, action: 'stop' },
      gpu: { utilisation: async (id) => readings.get(id) ?? null },
      now: clock.now,
      onIdle: async (e) => acted.push({ jobId: e.jobId, action: e.action }),
    });
    const jobs = ['job_a', 'job_b', 'job_c'];
    expect(await watch.observe(jobs)).toEqual([]);
    clock.advance(20 * 60_000);
    // A busy sample in between starts the span again.
    readings.set('job_a', 40);
    await watch.observe(jobs);
    readings.set('job_a', 2);
    await watch.observe(jobs);
    clock.advance(29 * 60_000);
    expect(await watch.observe(jobs)).toEqual([]);
    clock.advance(60_000);
    expect(await watch.observe(jobs)).toEqual(['job_a']);
    clock.advance(60 * 60_000);
    expect(await watch.observe(jobs)).toEqual([]);
    // Busy and unknown jobs are never acted on.
    expect(acted).toEqual([{ jobId: 'job_a', action: 'stop' }]);
  });
});

describe('reaper policy', () => {
  it('fills defaults and refuses unknown keys and bad values, naming the field', () => {
    expect(parseReaperPolicy('')).toEqual(DEFAULT_REAPER_POLICY);
    expect(DEFAULT_REAPER_POLICY.deployments.idleMinutes).toBe(30);
    expect(parseReaperPolicy('deployments: { idleMinutes: 5 }\ngpu: { action: stop }').gpu).toEqual({
      minUtilisationPercent: 10,
      minutes: 30,
      action: 'stop',
    });
    for (const [text, field] of [
      ['gpu: { action: kill }', 'gpu.action'],
      ['workers: { idleMinutes: -1 }', 'workers.idleMinutes'],
      ['deployment: { idleMinutes: 5 }', '(root)'],
    ] as const) {
      let err: unknown;
      try {
        parseReaperPolicy(text);
      } catch (e) {
        err = e;
      }
      expect(isAppError(err) && err.code).toBe('VALIDATION_FAILED');
      expect((err as Error).message).toContain(field);
    }
  });
});

describe('autoscaler metrics', () => {
  it('exports queue depth per queue and state, and the busy share', async () => {
    const m = createAutoscalerMetrics({
      depth: async () => [{ queue: 'default', waiting: 7, held: 2, active: 3 }],
      load: () => ({ slots: 4, busy: 3 }),
    });
    const text = await m.text();
    expect(text).toContain('sextant_jobs_queue_depth{queue="default",state="waiting"} 7');
    expect(text).toContain('sextant_jobs_queue_depth{queue="default",state="held"} 2');
    expect(text).toContain('sextant_jobs_queue_depth{queue="default",state="active"} 3');
    expect(text).toContain('sextant_worker_busy_ratio 0.75');
  });
});
