import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServices, EVENTS_DELIVER_JOB, type Services, SYSTEM_QUEUE } from '../../src/app/index.js';
import { createBlobStore } from '../../src/blobs/index.js';
import { systemClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import type { WorkerHandle } from '../../src/jobs/index.js';
import { type Actor, modelVersionCreated } from '../../src/registry/index.js';
import { tinyOnnxModel } from '../e2e/registry-fixtures.js';
import { describeEachBackend } from '../support/backends.js';

/*
 * The platform's upkeep is a job: a delivery whose first attempt failed is retried by the
 * `events.deliver` job on the system queue (not by a timer in the bus), and its effect commits once.
 */
describeEachBackend('event retries run as the events.deliver job', (getStore) => {
  let services: Services;
  let home: string;
  let worker: WorkerHandle | undefined;
  const attempts: number[] = [];

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-bg-'));
    const blobs = createBlobStore(`file:${path.join(home, 'blobs')}`);
    services = createServices({
      store: getStore(),
      blobs,
      clock: systemClock,
      config: loadConfig({ SEXTANT_HOME: home }),
      auditKey: 'test-audit-key-0123456789',
      eventDelivery: { baseDelayMs: 1, maxDelayMs: 1 },
    });
    services.events.subscribe({
      name: 'test.flaky-watcher',
      types: [modelVersionCreated.type],
      async handle(event, ctx) {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) throw new Error('the first attempt fails');
        await services.audit.append(ctx.tx, {
          actor: 'test.flaky-watcher',
          action: 'test.saw',
          entityType: 'event',
          entityId: event.id,
        });
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

  it('a failed first attempt is delivered by the events.deliver job, once', async () => {
    const actor: Actor = { name: 'ada', role: 'admin' };
    const model = `bg-${Math.random().toString(36).slice(2, 8)}`;
    await services.registry.versions.registerFile({
      actor,
      model,
      filename: 'm.onnx',
      content: tinyOnnxModel(),
    });
    // The emitting process attempts right after commit; that attempt fails and waits for a retry.
    await services.events.flush(10_000);
    expect(attempts).toEqual([1]);
    const [pending] = await services.events.deliveries({ subscriber: 'test.flaky-watcher' });
    expect(pending).toMatchObject({ state: 'pending', attempts: 1, lastError: 'the first attempt fails' });

    const job = await services.jobs.enqueue(EVENTS_DELIVER_JOB, {});
    expect(job.queue).toBe(SYSTEM_QUEUE);
    worker = services.jobs.work({ queues: [SYSTEM_QUEUE] });
    let done = await services.jobs.get(job.id);
    for (let i = 0; i < 200 && done.status !== 'completed' && done.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      done = await services.jobs.get(job.id);
    }
    expect(done.status).toBe('completed');
    expect(attempts).toEqual([1, 2]);
    const [delivered] = await services.events.deliveries({ subscriber: 'test.flaky-watcher' });
    expect(delivered).toMatchObject({ id: pending?.id, state: 'done', attempts: 2 });
    const saw = (await services.audit.list({ entityType: 'event' })).filter((e) => e.action === 'test.saw');
    expect(saw).toHaveLength(1);
  });

  it('a payload the job kind refuses is a validation error naming the field, and nothing is queued', async () => {
    const before = (await services.jobs.list({ name: EVENTS_DELIVER_JOB })).jobs.length;
    await expect(services.jobs.enqueue(EVENTS_DELIVER_JOB, { extra: 1 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect((await services.jobs.list({ name: EVENTS_DELIVER_JOB })).jobs.length).toBe(before);
  });
});
