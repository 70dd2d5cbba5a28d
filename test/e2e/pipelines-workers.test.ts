import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { settled } from '../../src/jobs/job-queue.contract.js';
import type { PipelineRunDetail } from '../../src/pipelines/index.js';
import { createTestDatabase } from '../support/backends.js';
import { postgresUrl, redisUrl, serviceAvailable } from '../support/services.js';
import { startWorker, type WorkerProcess } from '../support/worker-process.js';

/*
 * Pipelines on real workers: two `sextant worker` processes on one PostgreSQL and one Redis (BullMQ),
 * the test process starting runs through its own workspace, as a server replica would.
 */

const pgUp = await serviceAvailable('postgres', postgresUrl, 5432);
const redisUp = pgUp && (await serviceAvailable('redis', redisUrl, 6379));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!redisUp)('pipelines on two sextant worker processes (BullMQ, PostgreSQL)', () => {
  let ws: Workspace;
  let drop: () => Promise<void>;
  let home: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    const db = await createTestDatabase('postgres');
    drop = db.drop;
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-pipeline-workers-'));
    const env: Record<string, string> = {
      SEXTANT_HOME: home,
      SEXTANT_DATABASE_URL: db.url,
      SEXTANT_AUDIT_KEY: 'pipeline-workers-e2e-audit-key-01234',
      SEXTANT_LOG_LEVEL: 'silent',
      SEXTANT_REDIS_URL: redisUrl,
      SEXTANT_REDIS_PREFIX: `sextant-e2e-${randomBytes(4).toString('hex')}`,
    };
    ws = await openWorkspace(loadConfig(env));
    workers.push(...(await Promise.all([startWorker(env), startWorker(env)])));
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await ws?.close();
    await drop?.();
    fs.rmSync(home, { recursive: true, force: true });
  });

  function specFile(yaml: string): string {
    const dir = fs.mkdtempSync(path.join(home, 'p-'));
    const file = path.join(dir, 'pipeline.yaml');
    fs.writeFileSync(file, yaml);
    return file;
  }
  async function settle(runId: string): Promise<PipelineRunDetail> {
    const until = Date.now() + 90_000;
    for (;;) {
      const r = await ws.pipelines.service.getRun(runId);
      if (r.status !== 'running') return r;
      if (Date.now() > until)
        throw new Error(`run still running: ${JSON.stringify(r.steps.map((s) => [s.name, s.status]))}`);
      await sleep(100);
    }
  }
  const start = (file: string) =>
    ws.pipelines.starter.start({ pipeline: file, trigger: { kind: 'manual', key: 'e2e' }, actor: 'local' });
  const pidOf = (workerId: string) => Number(workerId.split(':')[1]);

  it('a 10-step fan-out / fan-in DAG runs on both workers, each step once', async () => {
    const branches = Array.from({ length: 8 }, (_, i) => `b${i}`);
    const yaml = [
      'name: wide',
      'steps:',
      '  start: { run: echo go }',
      ...branches.map(
        (b, i) =>
          `  ${b}: { needs: [start], run: 'sleep 0.5; echo ${b} >> ran.txt; echo "v=${i}" >> $SEXTANT_OUTPUT', outputs: { v: {} } }`,
      ),
      `  join: { run: 'echo "sum=$(( ${branches.map((b) => `\${{ steps.${b}.outputs.v }}`).join(' + ')} ))" >> $SEXTANT_OUTPUT', outputs: { sum: {} } }`,
    ].join('\n');
    const file = specFile(yaml);
    const r = await settle((await start(file)).runId);
    expect(r.status).toBe('succeeded');
    expect(r.steps.find((s) => s.name === 'join')?.outputs).toEqual({ sum: '28' });
    expect(
      fs
        .readFileSync(path.join(path.dirname(file), 'ran.txt'), 'utf8')
        .trim()
        .split('\n')
        .sort(),
    ).toEqual([...branches].sort());
    const pids = new Set<number>();
    for (const s of r.steps) {
      // The run's end commits inside the last step's attempt; the worker marks that attempt completed
      // just after, so wait for each job to settle before reading its log.
      const job = await settled(ws.jobs, s.jobId as string, 20_000);
      expect(job.log.filter((a) => a.status !== 'running')).toHaveLength(1);
      for (const a of job.log) pids.add(pidOf(a.workerId));
    }
    expect([...pids].sort()).toEqual(workers.map((w) => w.pid).sort());
  }, 120_000);

  it('kill -9 of the worker running a step: the step is retried on the other, its outputs committed once', async () => {
    const file = specFile(`
name: killed
steps:
  slow:
    run: echo "$$" >> starts.txt; sleep 4; echo "v=done" >> $SEXTANT_OUTPUT
    outputs: { v: {} }
  after:
    run: echo "\${{ steps.slow.outputs.v }}" >> after.txt
`);
    const dir = path.dirname(file);
    const { runId } = await start(file);
    // Wait until the step runs, then kill the worker that holds it.
    let holder: WorkerProcess | undefined;
    const until = Date.now() + 30_000;
    while (!holder && Date.now() < until) {
      const slow = (await ws.pipelines.service.getRun(runId)).steps.find((s) => s.name === 'slow');
      if (slow?.status === 'running' && slow.jobId && fs.existsSync(path.join(dir, 'starts.txt'))) {
        const attempt = (await ws.jobs.get(slow.jobId)).log.at(-1);
        holder = workers.find((w) => attempt && w.pid === pidOf(attempt.workerId));
      }
      if (!holder) await sleep(50);
    }
    if (!holder) throw new Error('no worker took the step');
    holder.child.kill('SIGKILL');
    const r = await settle(runId).catch(async (err) => {
      const s = (await ws.pipelines.service.getRun(runId)).steps[0];
      throw new Error(`${err.message}; job: ${JSON.stringify(await ws.jobs.get(s?.jobId as string))}`);
    });
    expect(r.status).toBe('succeeded');
    const slow = r.steps.find((s) => s.name === 'slow');
    expect(slow?.attempt).toBeGreaterThanOrEqual(2);
    const job = await settled(ws.jobs, slow?.jobId as string, 20_000);
    const survivor = workers.find((w) => w !== holder) as WorkerProcess;
    expect(job.log.at(-1)).toMatchObject({ status: 'completed' });
    expect(pidOf(job.log.at(-1)?.workerId ?? '')).toBe(survivor.pid);
    // The step started twice (once per worker) and its dependant ran once, on the committed output.
    expect(fs.readFileSync(path.join(dir, 'starts.txt'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(fs.readFileSync(path.join(dir, 'after.txt'), 'utf8')).toBe('done\n');
    expect(slow?.outputs).toEqual({ v: 'done' });
  }, 120_000);
});
