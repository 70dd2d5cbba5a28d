import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import type { WorkerHandle } from '../../src/jobs/index.js';
import { settled } from '../../src/jobs/job-queue.contract.js';
import type { PipelineRunDetail } from '../../src/pipelines/index.js';
import { reachable, servicesRequired } from '../support/services.js';

/*
 * Redis restarted mid-run (with no persistence: every BullMQ job is gone) on a private redis-server
 * this test starts and kills: the run still completes, every step committed exactly once. Queued
 * steps are re-dispatched from their database rows when the workers reconnect; the step running
 * through the restart finishes on its worker and commits once.
 */

const redisBin = spawnSync('redis-server', ['--version']).status === 0;
if (!redisBin) {
  const reason = 'redis-server is not on PATH';
  if (servicesRequired) throw new Error(`${reason}, and SEXTANT_REQUIRE_SERVICES=1 requires it`);
  console.warn(`SKIPPED: pipelines across a Redis restart (${reason})`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 200; i++) {
    if (await reachable(`redis://127.0.0.1:${port}`, port)) return child;
    await sleep(25);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not listen on ${port}`);
}

async function stopRedis(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe.skipIf(!redisBin)('pipelines across a Redis restart (BullMQ, private redis-server)', () => {
  let ws: Workspace;
  let redis: ChildProcess;
  let port: number;
  let home: string;
  let worker: WorkerHandle;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-redis-restart-'));
    ws = await openWorkspace(
      loadConfig({
        SEXTANT_HOME: home,
        SEXTANT_AUDIT_KEY: 'redis-restart-e2e-audit-key-0123456',
        SEXTANT_LOG_LEVEL: 'silent',
        SEXTANT_REDIS_URL: `redis://127.0.0.1:${port}`,
      }),
    );
    // Two BullMQ workers in this process, as two `sextant worker` processes would take the steps.
    worker = ws.jobs.work({ queues: ['default'], concurrency: 2, leaseMs: 1_500 });
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    await ws?.close();
    if (redis && redis.exitCode === null) await stopRedis(redis);
    fs.rmSync(home, { recursive: true, force: true });
  });

  async function settle(runId: string, ms: number): Promise<PipelineRunDetail> {
    for (const until = Date.now() + ms; ; ) {
      const r = await ws.pipelines.service.getRun(runId);
      if (r.status !== 'running') return r;
      if (Date.now() > until)
        throw new Error(
          `run ${runId} still running: ${JSON.stringify(r.steps.map((s) => [s.name, s.status]))}`,
        );
      await sleep(100);
    }
  }

  it('queued steps survive the restart, the running one commits once, and the run succeeds', async () => {
    const dir = fs.mkdtempSync(path.join(home, 'p-'));
    const file = path.join(dir, 'pipeline.yaml');
    // Five parallel steps on two worker slots: when Redis goes, two run and three wait in Redis.
    const branches = ['p1', 'p2', 'p3', 'p4', 'p5'];
    fs.writeFileSync(
      file,
      [
        'name: redis-restart',
        'steps:',
        '  a: { run: echo "$SEXTANT_STEP" >> ran.log }',
        ...branches.map(
          (b) =>
            `  ${b}: { needs: [a], run: 'touch $SEXTANT_STEP.started; sleep 2; echo "$SEXTANT_STEP" >> ran.log' }`,
        ),
        `  d: { needs: [${branches.join(', ')}], run: echo "$SEXTANT_STEP" >> ran.log }`,
      ].join('\n'),
    );
    const { runId } = await ws.pipelines.starter.start({
      pipeline: file,
      trigger: { kind: 'manual', key: 'test' },
      actor: 'local',
    });
    const started = () => branches.filter((b) => fs.existsSync(path.join(dir, `${b}.started`))).length;
    for (let i = 0; i < 400 && started() < 2; i++) await sleep(25);
    const before = await ws.pipelines.service.getRun(runId);
    const states = before.steps.filter((s) => branches.includes(s.name)).map((s) => s.status);
    expect(states.filter((s) => s === 'running')).toHaveLength(2);
    expect(states.filter((s) => s === 'queued')).toHaveLength(3);
    // Redis dies with every job in it, and comes back empty while two steps still run.
    await stopRedis(redis);
    await sleep(500);
    redis = await startRedis(port);

    const r = await settle(runId, 90_000);
    expect(r.status, JSON.stringify(r.steps.map((s) => [s.name, s.status, s.error]))).toBe('succeeded');
    expect(r.steps.every((s) => s.status === 'succeeded')).toBe(true);
    // Every step's command ran exactly once and its end was committed once.
    const ran = fs.readFileSync(path.join(dir, 'ran.log'), 'utf8').trim().split('\n').sort();
    expect(ran).toEqual(['a', 'd', ...branches]);
    for (const s of r.steps) {
      // The run ends inside the last step's attempt, which its worker marks completed just after.
      const job = await settled(ws.jobs, s.jobId as string, 20_000);
      expect(job.status).toBe('completed');
      expect(job.log.filter((a) => a.status === 'completed')).toHaveLength(1);
    }
  }, 120_000);
});
