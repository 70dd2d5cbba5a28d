import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createServices,
  EVENTS_DELIVER_JOB,
  PRUNE_JOB,
  type Services,
  SYSTEM_QUEUE,
} from '../../src/app/index.js';
import { createBlobStore } from '../../src/blobs/index.js';
import type { Clock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import { PROBE_JOB, type WorkerHandle } from '../../src/jobs/index.js';
import { settled } from '../../src/jobs/job-queue.contract.js';
import { type Actor, modelVersionCreated } from '../../src/registry/index.js';
import { tinyOnnxModel } from '../e2e/registry-fixtures.js';
import { describeEachBackend } from '../support/backends.js';

const DAY_MS = 86_400_000;

/*
 * Retention: `system.prune` deletes finished jobs and settled events older than SEXTANT_RETENTION_DAYS,
 * and nothing that still has work to do (a queued job, an event with a pending delivery).
 */
describeEachBackend('the system.prune job', (getStore) => {
  let services: Services;
  let home: string;
  let worker: WorkerHandle | undefined;
  let now = Date.now();
  const clock: Clock = { now: () => now };
  const actor: Actor = { name: 'ada', role: 'admin' };
  const tag = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-prune-'));
    services = createServices({
      store: getStore(),
      blobs: createBlobStore(`file:${path.join(home, 'blobs')}`),
      clock,
      config: loadConfig({ SEXTANT_HOME: home, SEXTANT_RETENTION_DAYS: '7' }),
      auditKey: 'test-audit-key-0123456789',
    });
    // Acts on every new version except those named stuck-*, which stay pending (retried much later).
    services.events.subscribe({
      name: `test.prune-watcher-${tag}`,
      types: [modelVersionCreated.type],
      async handle(event) {
        if (String((event.payload as { model: string }).model).startsWith('stuck-'))
          throw new Error('not yet');
      },
    });
  });
  afterAll(async () => {
    await worker?.close();
    await services.events.close();
    await services.jobs.close();
    await services.blobs.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('deletes old finished jobs and settled events, keeps queued jobs and pending deliveries, and audits', async () => {
    const register = (model: string) =>
      services.registry.versions.registerFile({ actor, model, filename: 'm.onnx', content: tinyOnnxModel() });
    await register(`done-${tag}`);
    await register(`stuck-${tag}`);
    await services.events.flush(10_000);
    const deliveries = await services.events.deliveries({ subscriber: `test.prune-watcher-${tag}` });
    expect(deliveries.map((d) => d.state).sort()).toEqual(['done', 'pending']);

    worker = services.jobs.work({ queues: [SYSTEM_QUEUE, 'default'] });
    const finished = await services.jobs.enqueue(EVENTS_DELIVER_JOB, {});
    expect((await settled(services.jobs, finished.id)).status).toBe('completed');
    // Due only after the clock moves on, and then still queued when the prune runs (no worker on it).
    const waiting = await services.jobs.enqueue(PROBE_JOB, {}, { delayMs: 365 * DAY_MS });

    now += 8 * DAY_MS;
    const prune = await services.jobs.enqueue(PRUNE_JOB, {});
    const result = await settled(services.jobs, prune.id);
    expect(result.status).toBe('completed');
    expect(result.result).toMatchObject({ events: 1 });
    expect((result.result as { jobs: number }).jobs).toBeGreaterThanOrEqual(1);

    await expect(services.jobs.get(finished.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await services.jobs.get(waiting.id)).status).toBe('queued');
    const left = await services.events.deliveries({ subscriber: `test.prune-watcher-${tag}` });
    expect(left.map((d) => d.state)).toEqual(['pending']);
    const entries = (await services.audit.list({ entityType: 'job' })).filter(
      (e) => e.action === 'system.pruned',
    );
    expect(entries).toHaveLength(1);
    expect(entries[0]?.details).toMatchObject({ events: 1, retentionDays: 7 });
    expect((await services.audit.verify()).ok).toBe(true);
  });
});
