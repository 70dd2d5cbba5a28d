import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { openWorkspace, type Workspace } from '../src/app/index.js';
import { loadConfig } from '../src/core/config.js';
import type { PipelineRunDetail } from '../src/pipelines/index.js';
import { reachable } from '../test/support/services.js';
import {
  fmtMs,
  fmtRatio,
  intEnv,
  median,
  nowMs,
  printTable,
  progress,
  runCleanups,
  tempDir,
} from './support.js';

/*
 * Pipelines benchmark (npm run bench:pipelines). Prints tables and ratios; asserts nothing.
 *   1. Dispatch overhead per step: a chain of BENCH_PIPELINE_STEPS (30) `run: "true"` steps on the
 *      BullMQ seam (SQLite + Redis), worked in this process. A step's overhead is the gap between the
 *      end of the step before it and its own start: committing the end, advancing the DAG, the job
 *      row, the BullMQ round trip, the claim. Side by side with a bare BullMQ add -> process ->
 *      completed round trip on the same Redis (p50 of each). Target: at most 50 ms over bare.
 *   2. A fully cached 10-step pipeline re-run: wall time from start to the run's end. Target: < 1 s.
 *   3. BENCH_PIPELINE_WIDE_STEPS (200; the issue's scale is 1000) independent no-op steps across 4
 *      BullMQ workers (BENCH_PIPELINE_WORKER_CONCURRENCY 2 slots each): steps/s from the run's start
 *      to its end, side by side with bare BullMQ jobs on 4 workers whose processor spawns the same
 *      `sh -c true` a `run: "true"` step does. The difference per job is what the pipeline machinery
 *      (rows, DAG advance, claim, commit, tracking) costs on top of BullMQ.
 */

const STEPS = intEnv('BENCH_PIPELINE_STEPS', 30);
const TRIPS = intEnv('BENCH_PIPELINE_BARE_TRIPS', 100);
const REDIS_URL = process.env.SEXTANT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const WIDE = intEnv('BENCH_PIPELINE_WIDE_STEPS', 200);
const WIDE_WORKERS = 4;
const WIDE_CONCURRENCY = intEnv('BENCH_PIPELINE_WORKER_CONCURRENCY', 2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const shTrue = () =>
  new Promise<void>((resolve, reject) =>
    execFile('sh', ['-c', 'true'], (err) => (err ? reject(err) : resolve())),
  );

/** N `sh -c true` jobs on 4 bare BullMQ workers: wall ms from the first add to the last completion. */
async function bareWide(prefix: string, n: number): Promise<number> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('wide', { connection, prefix });
  let done = 0;
  let allDone = () => {};
  const finished = new Promise<void>((r) => {
    allDone = r;
  });
  const connections: Redis[] = [];
  const workers = Array.from({ length: WIDE_WORKERS }, () => {
    const c = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    connections.push(c);
    const w = new Worker('wide', shTrue, {
      connection: c,
      prefix,
      concurrency: WIDE_CONCURRENCY,
    });
    w.on('completed', () => {
      if (++done === n) allDone();
    });
    return w;
  });
  await sleep(300);
  const t0 = nowMs();
  await queue.addBulk(
    Array.from({ length: n }, (_, i) => ({ name: 'noop', data: { i }, opts: { removeOnComplete: true } })),
  );
  await finished;
  const ms = nowMs() - t0;
  await Promise.all(workers.map((w) => w.close()));
  await queue.close();
  for (const c of [connection, ...connections]) c.disconnect();
  return ms;
}

async function bareRoundTrips(prefix: string): Promise<number[]> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('bench', { connection, prefix });
  let waiting: { id: string; resolve: () => void } | undefined;
  const early = new Set<string>();
  const workerConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker('bench', async () => null, {
    connection: workerConnection,
    prefix,
  });
  worker.on('completed', (job) => {
    const w = waiting;
    if (w && w.id === job.id) w.resolve();
    else early.add(job.id as string);
  });
  await sleep(300);
  const times: number[] = [];
  for (let i = 0; i < TRIPS; i++) {
    const t0 = nowMs();
    const id = (await queue.add('noop', { i }, { jobId: `t${i}`, removeOnComplete: true })).id as string;
    if (!early.delete(id))
      await new Promise<void>((resolve) => {
        waiting = { id, resolve };
      });
    times.push(nowMs() - t0);
  }
  await worker.close();
  await queue.close();
  connection.disconnect();
  workerConnection.disconnect();
  return times;
}

async function settle(ws: Workspace, runId: string): Promise<PipelineRunDetail> {
  for (;;) {
    const r = await ws.pipelines.service.getRun(runId);
    if (r.status !== 'running') return r;
    await sleep(5);
  }
}

function chain(name: string, n: number): string {
  const lines = [`name: ${name}`, 'steps:'];
  for (let i = 0; i < n; i++) lines.push(`  s${i}: { run: "true"${i ? `, needs: [s${i - 1}]` : ''} }`);
  return lines.join('\n');
}

async function main() {
  if (!(await reachable(REDIS_URL, 6379))) {
    console.log(`skipped: no Redis at ${REDIS_URL}`);
    return;
  }
  const prefix = `sextant-bench-${randomBytes(4).toString('hex')}`;
  progress(`bare BullMQ: ${TRIPS} round trips`);
  const bare = median(await bareRoundTrips(`${prefix}-bare`));

  const home = tempDir('sextant-bench-pipelines-');
  const ws = await openWorkspace(
    loadConfig({
      SEXTANT_HOME: home,
      SEXTANT_REDIS_URL: REDIS_URL,
      SEXTANT_REDIS_PREFIX: prefix,
      SEXTANT_AUDIT_KEY: 'bench-audit-key-0123456789abcdef',
      SEXTANT_LOG_LEVEL: 'silent',
    }),
  );
  const worker = ws.jobs.work({ concurrency: 4 });
  await sleep(300);
  const file = path.join(home, 'chain.yaml');
  fs.writeFileSync(file, chain('chain', STEPS));
  progress(`pipeline: a chain of ${STEPS} steps`);
  const r = await settle(
    ws,
    (
      await ws.pipelines.starter.start({
        pipeline: file,
        trigger: { kind: 'manual', key: 'bench' },
        actor: 'local',
      })
    ).runId,
  );
  if (r.status !== 'succeeded') throw new Error(`chain run ${r.status}: ${r.error}`);
  const gaps: number[] = [];
  for (let i = 1; i < r.steps.length; i++) {
    const prev = r.steps[i - 1];
    const cur = r.steps[i];
    if (prev?.finishedAt && cur?.startedAt)
      gaps.push(Date.parse(cur.startedAt) - Date.parse(prev.finishedAt));
  }
  const dispatch = median(gaps);

  const tenFile = path.join(home, 'ten.yaml');
  fs.writeFileSync(tenFile, chain('ten', 10));
  const start = () =>
    ws.pipelines.starter.start({
      pipeline: tenFile,
      trigger: { kind: 'manual', key: 'bench' },
      actor: 'local',
    });
  let t0 = nowMs();
  await settle(ws, (await start()).runId);
  const firstMs = nowMs() - t0;
  t0 = nowMs();
  const cached = await settle(ws, (await start()).runId);
  const cachedMs = nowMs() - t0;
  const allCached = cached.steps.every((s) => s.status === 'cached');

  await worker.close();

  progress(`wide: ${WIDE} no-op steps on ${WIDE_WORKERS} workers x ${WIDE_CONCURRENCY}`);
  const wideWorkers = Array.from({ length: WIDE_WORKERS }, () =>
    ws.jobs.work({ concurrency: WIDE_CONCURRENCY }),
  );
  await sleep(300);
  const wideFile = path.join(home, 'wide.yaml');
  fs.writeFileSync(
    wideFile,
    [
      'name: wide',
      'steps:',
      ...Array.from({ length: WIDE }, (_, i) => `  n${i}: { run: "true", cache: false }`),
    ].join('\n'),
  );
  t0 = nowMs();
  const wide = await settle(
    ws,
    (
      await ws.pipelines.starter.start({
        pipeline: wideFile,
        trigger: { kind: 'manual', key: 'bench' },
        actor: 'local',
      })
    ).runId,
  );
  const wideMs = nowMs() - t0;
  if (wide.status !== 'succeeded') throw new Error(`wide run ${wide.status}: ${wide.error}`);
  await Promise.all(wideWorkers.map((w) => w.close()));
  await ws.close();
  progress(`bare BullMQ: ${WIDE} sh -c true jobs on ${WIDE_WORKERS} workers`);
  const bareWideMs = await bareWide(`${prefix}-wide`, WIDE);

  printTable(
    ['measure', 'pipelines (SQLite + BullMQ)', 'bare BullMQ', 'difference', 'ratio'],
    [
      [
        'per-step dispatch p50',
        fmtMs(dispatch),
        fmtMs(bare),
        fmtMs(dispatch - bare),
        fmtRatio(dispatch / bare),
      ],
    ],
  );
  printTable(
    ['10-step chain', 'wall time', 'steps cached'],
    [
      ['first run (every step runs)', fmtMs(firstMs), '0'],
      ['re-run, unchanged (target < 1 s)', fmtMs(cachedMs), allCached ? '10' : 'NOT ALL'],
    ],
  );
  const slots = WIDE_WORKERS * WIDE_CONCURRENCY;
  printTable(
    [
      `${WIDE} no-op steps, ${WIDE_WORKERS} workers x ${WIDE_CONCURRENCY}`,
      'pipelines',
      'bare BullMQ',
      'ratio',
    ],
    [
      ['wall time', fmtMs(wideMs), fmtMs(bareWideMs), fmtRatio(wideMs / bareWideMs)],
      [
        'steps/s',
        ((WIDE / wideMs) * 1000).toFixed(1),
        ((WIDE / bareWideMs) * 1000).toFixed(1),
        fmtRatio(bareWideMs / wideMs),
      ],
      // A slot's time per step: wall x slots / steps. The difference is the per-step overhead.
      [
        'slot time per step',
        fmtMs((wideMs * slots) / WIDE),
        fmtMs((bareWideMs * slots) / WIDE),
        fmtMs(((wideMs - bareWideMs) * slots) / WIDE),
      ],
    ],
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(runCleanups);
