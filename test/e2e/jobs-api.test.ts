import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace } from '../../src/app/index.js';
import { createHttpClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/core/config.js';
import { jobDetailSchema, jobPageSchema, jobSchema, PROBE_JOB } from '../../src/jobs/index.js';
import { settled } from '../../src/jobs/job-queue.contract.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { cli } from '../support/cli.js';

describeEachBackend('jobs over HTTP: /api/v1/jobs', (getStore) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(getStore());
  });
  afterAll(async () => {
    await t.services.jobs.close();
    await t.close();
  });

  it('lists, shows and cancels jobs; the probe commits its one audit entry', async () => {
    const w = t.services.jobs.work({ concurrency: 2 });
    const probe = await t.services.jobs.enqueue(PROBE_JOB, { note: 'api' });
    await settled(t.services.jobs, probe.id);
    const later = await t.services.jobs.enqueue(PROBE_JOB, {}, { delayMs: 60_000 });

    const list = await t.app.inject({ method: 'GET', url: `/api/v1/jobs?name=${PROBE_JOB}&limit=1` });
    expect(list.statusCode, list.body).toBe(200);
    const page = jobPageSchema.parse(list.json());
    expect(page.jobs.map((j) => j.id)).toEqual([later.id]);
    expect(page.nextPageToken).toBe(later.id);

    const shown = await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${probe.id}` });
    const detail = jobDetailSchema.parse(shown.json());
    expect(detail).toMatchObject({ status: 'completed', attempts: 1, payload: { sleepMs: 0, note: 'api' } });
    expect(detail.log).toMatchObject([{ attempt: 1, status: 'completed', workerId: w.workerId }]);
    expect(await t.services.audit.list({ entityType: 'job', entityId: probe.id })).toMatchObject([
      { action: 'job.probe' },
    ]);

    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/jobs/${later.id}/cancel`,
      payload: {},
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(jobSchema.parse(cancelled.json())).toMatchObject({ status: 'cancelled', cancelledBy: 'local' });
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/jobs/${later.id}/cancel`, payload: {} });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('INVALID_TRANSITION');
    await w.close();
  });

  it('bad input is a 4xx naming the field', async () => {
    const badStatus = await t.app.inject({ method: 'GET', url: '/api/v1/jobs?status=sleeping' });
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.body).toContain('status');
    const badId = await t.app.inject({ method: 'GET', url: '/api/v1/jobs/nope' });
    expect(badId.statusCode).toBe(400);
    const missing = await t.app.inject({ method: 'GET', url: '/api/v1/jobs/job_00000000000000000000000000' });
    expect(missing.statusCode).toBe(404);
  });

  it('the HTTP client reaches the same jobs', async () => {
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const api = createHttpClient({ url: address });
    const job = await t.services.jobs.enqueue(PROBE_JOB, {}, { delayMs: 60_000 });
    expect((await api.jobs.get(job.id)).status).toBe('queued');
    expect((await api.jobs.cancel(job.id)).status).toBe('cancelled');
    expect((await api.jobs.list({ status: 'cancelled' })).jobs.map((j) => j.id)).toContain(job.id);
  });
});

describe('sextant jobs ls|show|cancel on a local workspace', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-jobs-cli-'));
  const env = { SEXTANT_HOME: home };
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('shows what is queued and cancels it; bad input exits non-zero with the field named', async () => {
    const ws = await openWorkspace(loadConfig(env));
    const job = await ws.jobs.enqueue(PROBE_JOB, { note: 'cli' }, { delayMs: 60_000 });
    await ws.close();

    const ls = await cli(env, 'jobs', 'ls');
    expect(ls.code, ls.err).toBe(0);
    expect(ls.out).toContain(job.id);
    expect(ls.out).toContain('queued');
    const show = await cli(env, '--json', 'jobs', 'show', job.id);
    expect(jobDetailSchema.parse(JSON.parse(show.out))).toMatchObject({
      id: job.id,
      payload: { note: 'cli' },
    });
    const cancel = await cli(env, 'jobs', 'cancel', job.id);
    expect(cancel.code, cancel.err).toBe(0);
    expect((await cli(env, 'jobs', 'ls', '--status', 'cancelled')).out).toContain(job.id);
    const again = await cli(env, 'jobs', 'cancel', job.id);
    expect(again.code).toBe(4);
    expect(again.err).toMatch(/cannot go from cancelled to cancelled/);
    const bad = await cli(env, 'jobs', 'ls', '--status', 'sleeping');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--status');
    const badWorker = await cli(env, 'worker', '--queues', 'Bad Name');
    expect(badWorker.code).toBe(2);
    expect(badWorker.err).toContain('--queues');
  });
});
