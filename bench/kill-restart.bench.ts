/*
 * Reliability under kill -9: starts `sextant server` (bench/server-child.ts) on one workspace, writes
 * to it from several clients (runs, log-batch params, experiments, predictions, promotions of the
 * champion back and forth) while it works probe jobs enqueued each cycle, kills the process with SIGKILL at
 * a random moment (0.2-1 s after its deployment answered a first prediction), restarts it, and does that RESTARTS times (default 50) on SQLite and on PostgreSQL.
 * Then it checks that every write the server acknowledged is there (runs, params, experiments,
 * predictions), that the champion is where an acknowledged or unanswered promotion left it, that a
 * last quiet start finishes every probe job with exactly one committed effect, and that
 * `audit verify --deep` passes, and prints the counts. Not a test: it takes minutes.
 *
 *   npx tsx bench/kill-restart.bench.ts            (KILL_RESTARTS=50, KILL_WRITERS=4)
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { openWorkspace, type Workspace } from '../src/app/index.js';
import { loadConfig } from '../src/core/config.js';
import { PROBE_JOB } from '../src/jobs/index.js';
import { creditRecords, prepareServingWorkspace } from '../test/e2e/serving-serve-harness.js';
import { createPostgresDatabase, intEnv, printTable, progress, runCleanups, tempDir } from './support.js';

const RESTARTS = intEnv('KILL_RESTARTS', 50);
const WRITERS = intEnv('KILL_WRITERS', 4);
const MLFLOW = '/api/2.0/mlflow';

function start(env: Record<string, string>): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./server-child.ts', import.meta.url).pathname],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve({ child, base: `http://127.0.0.1:${Number(buf.trim())}` });
    });
    child.once('exit', (code) => reject(new Error(`server exited before listening (code ${code})`)));
  });
}

async function post(base: string, endpoint: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(endpoint.startsWith('/') ? `${base}${endpoint}` : `${base}${MLFLOW}/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`${endpoint}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

interface Acked {
  experiments: string[];
  params: Map<string, Set<string>>;
  predictions: string[];
  /** Champion versions asked for in order; `ackedUpTo` counts those answered. */
  promotions: number[];
  ackedUpTo: number;
  jobs: string[];
}

const MODEL = 'kill-model';
const DEPLOYMENT = 'kill-dep';
const records = creditRecords(8);

async function predictOnce(base: string, acked: Acked) {
  const reply = (await post(base, `/api/v1/deployments/${DEPLOYMENT}/predict`, {
    dataframe_records: records,
  })) as {
    predictions: { prediction_id: string }[];
  };
  for (const p of reply.predictions) acked.predictions.push(p.prediction_id);
}

/** Predicts until the server dies; records the ids of answered predictions. */
async function predictor(base: string, acked: Acked) {
  try {
    for (;;) await predictOnce(base, acked);
  } catch {
    // Killed: unanswered predictions were never acknowledged.
  }
}

/** Moves the champion between versions 1 and 2 until the server dies (approvals: 0, so each applies). */
async function promoter(base: string, acked: Acked) {
  try {
    for (;;) {
      const version = acked.promotions.length % 2 === 0 ? 2 : 1;
      acked.promotions.push(version);
      await post(base, '/api/v1/promotions', {
        ref: `${MODEL}@${version}`,
        alias: 'champion',
        reason: 'kill loop',
      });
      acked.ackedUpTo = acked.promotions.length;
    }
  } catch {
    // Killed: the last asked promotion may or may not have committed.
  }
}

/** One writer until the server dies: a run, then params in batches; records only what got a 200. */
async function writer(base: string, experimentId: string, cycle: number, w: number, acked: Acked) {
  try {
    const run = (await post(base, 'runs/create', { experiment_id: experimentId })) as {
      run: { info: { run_id: string } };
    };
    const runId = run.run.info.run_id;
    acked.params.set(runId, new Set());
    for (let b = 0; ; b++) {
      const keys = Array.from({ length: 5 }, (_, i) => `p${b}_${i}`);
      await post(base, 'runs/log-batch', { run_id: runId, params: keys.map((key) => ({ key, value: key })) });
      for (const k of keys) acked.params.get(runId)?.add(k);
      if (b % 4 === 0) {
        const name = `exp-${cycle}-${w}-${b}`;
        await post(base, 'experiments/create', { name });
        acked.experiments.push(name);
      }
    }
  } catch {
    // The server was killed: whatever did not get its 200 was never acknowledged.
  }
}

/** Enqueues a few probe jobs (each commits one audit entry) for the next server to work. */
async function enqueueProbes(env: Record<string, string>, acked: Acked) {
  const ws = await openWorkspace(loadConfig(env));
  try {
    for (let i = 0; i < 3; i++) acked.jobs.push((await ws.jobs.enqueue(PROBE_JOB, { sleepMs: 300 })).id);
  } finally {
    await ws.close();
  }
}

/** Waits (up to two minutes) until every job has finished; returns how many completed. */
async function waitForJobs(ws: Workspace, ids: string[]): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const states = await Promise.all(ids.map(async (id) => (await ws.jobs.get(id)).status));
    if (
      states.every((s) => s === 'completed' || s === 'failed' || s === 'cancelled') ||
      Date.now() > deadline
    )
      return states.filter((s) => s === 'completed').length;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function loop(backend: string, databaseUrl: string | undefined): Promise<string[]> {
  const home = tempDir('sextant-kill-');
  const env = {
    SEXTANT_HOME: home,
    SEXTANT_AUDIT_KEY: 'kill-restart-audit-key-0123456789',
    SEXTANT_LOG_LEVEL: 'silent',
    ...(databaseUrl ? { SEXTANT_DATABASE_URL: databaseUrl } : {}),
  };
  const acked: Acked = {
    experiments: [],
    params: new Map(),
    predictions: [],
    promotions: [1],
    ackedUpTo: 1,
    jobs: [],
  };
  await prepareServingWorkspace({ home, ...(databaseUrl ? { databaseUrl } : {}), model: MODEL, versions: 2 });
  const setup = await openWorkspace(loadConfig(env));
  try {
    await setup.serving.deployments.create({ actor: 'bench', name: DEPLOYMENT, model: `${MODEL}@champion` });
  } finally {
    await setup.close();
  }
  const serverEnv = { ...env, BENCH_WORK_QUEUES: 'default' };
  let experimentId = '';
  for (let cycle = 1; cycle <= RESTARTS; cycle++) {
    await enqueueProbes(env, acked);
    const { child, base } = await start(serverEnv);
    if (!experimentId)
      experimentId = String(
        ((await post(base, 'experiments/create', { name: 'kill-loop' })) as { experiment_id: string })
          .experiment_id,
      );
    // The deployment loads on its first request: answered once before the clock to the kill starts.
    await predictOnce(base, acked);
    const writers = [
      ...Array.from({ length: WRITERS }, (_, w) => writer(base, experimentId, cycle, w, acked)),
      predictor(base, acked),
      promoter(base, acked),
    ];
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    await Promise.all(writers);
    if (cycle % 10 === 0) progress(`${backend}: ${cycle}/${RESTARTS} kill -9 restarts`);
  }
  // A last start that is not killed: every probe job finishes, each with one committed effect.
  const quiet = await start(serverEnv);
  const ws = await openWorkspace(loadConfig(env));
  try {
    const jobsDone = await waitForJobs(ws, acked.jobs);
    await new Promise<void>((resolve) => {
      quiet.child.once('exit', () => resolve());
      quiet.child.kill('SIGTERM');
    });
    let lost = 0;
    for (const id of acked.predictions) {
      if (!(await ws.serving.predictions.get(id).catch(() => undefined))) lost++;
    }
    const champion = (await ws.registry.versions.resolve(`${MODEL}@champion`)).version;
    const possible = new Set(acked.promotions.slice(acked.ackedUpTo - 1));
    const championOk = possible.has(champion);
    const probes = (await ws.audit.list({ entityType: 'job', limit: 100_000 })).filter(
      (e) => e.action === 'job.probe',
    );
    const effects = new Map<string, number>();
    for (const e of probes) effects.set(e.entityId, (effects.get(e.entityId) ?? 0) + 1);
    const jobsOnce = acked.jobs.filter((id) => effects.get(id) === 1).length;
    let params = 0;
    for (const [runId, keys] of acked.params) {
      const run = await ws.runs.get(runId).catch(() => undefined);
      const stored = new Set(Object.keys(run?.params ?? {}));
      params += keys.size;
      for (const k of keys) if (!stored.has(k)) lost++;
      if (!run) lost++;
    }
    for (const name of acked.experiments) {
      if (!(await ws.experiments.findByName(name))) lost++;
    }
    const verify = await ws.audit.verify({ deep: true });
    return [
      backend,
      String(RESTARTS),
      String(acked.params.size),
      String(params),
      String(acked.experiments.length),
      String(acked.predictions.length),
      `${acked.ackedUpTo - 1} (champion v${champion} ${championOk ? 'OK' : 'WRONG'})`,
      `${jobsOnce}/${acked.jobs.length} once (${jobsDone} done)`,
      String(lost),
      String(verify.entries),
      verify.ok ? 'OK' : `BROKEN: ${verify.problems[0]?.message ?? ''}`,
    ];
  } finally {
    await ws.close();
  }
}

try {
  const rows = [await loop('sqlite', undefined)];
  const pg = await createPostgresDatabase();
  if ('url' in pg) rows.push(await loop('postgres', pg.url));
  else progress(`postgres skipped: ${pg.skipped}`);
  printTable(
    [
      'backend',
      'restarts',
      'runs acked',
      'params acked',
      'experiments acked',
      'predictions acked',
      'promotions acked',
      'probe jobs',
      'lost',
      'audit entries',
      'audit verify --deep',
    ],
    rows,
  );
} finally {
  await runCleanups();
}
