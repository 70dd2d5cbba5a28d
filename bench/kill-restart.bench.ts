/*
 * Reliability under kill -9: starts `sextant server` (bench/server-child.ts) on one workspace, writes
 * to it from several clients (runs, log-batch params, experiments), kills the process with SIGKILL at
 * a random moment (0.2-1 s after it listens), restarts it, and does that RESTARTS times (default 50) on SQLite and on PostgreSQL.
 * Then it checks that every write the server acknowledged (HTTP 200) is there and that
 * `audit verify --deep` passes, and prints the counts. Not a test: it takes minutes.
 *
 *   npx tsx bench/kill-restart.bench.ts            (KILL_RESTARTS=50, KILL_WRITERS=4)
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { openWorkspace } from '../src/app/index.js';
import { loadConfig } from '../src/core/config.js';
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
  const res = await fetch(`${base}${MLFLOW}/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${endpoint}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

interface Acked {
  experiments: string[];
  params: Map<string, Set<string>>;
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

async function loop(backend: string, databaseUrl: string | undefined): Promise<string[]> {
  const home = tempDir('sextant-kill-');
  const env = {
    SEXTANT_HOME: home,
    SEXTANT_AUDIT_KEY: 'kill-restart-audit-key-0123456789',
    SEXTANT_LOG_LEVEL: 'silent',
    ...(databaseUrl ? { SEXTANT_DATABASE_URL: databaseUrl } : {}),
  };
  const acked: Acked = { experiments: [], params: new Map() };
  let experimentId = '';
  for (let cycle = 1; cycle <= RESTARTS; cycle++) {
    const { child, base } = await start(env);
    if (!experimentId)
      experimentId = String(
        ((await post(base, 'experiments/create', { name: 'kill-loop' })) as { experiment_id: string })
          .experiment_id,
      );
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(base, experimentId, cycle, w, acked));
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    await Promise.all(writers);
    if (cycle % 10 === 0) progress(`${backend}: ${cycle}/${RESTARTS} kill -9 restarts`);
  }
  const ws = await openWorkspace(loadConfig(env));
  try {
    let lost = 0;
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
      'lost',
      'audit entries',
      'audit verify --deep',
    ],
    rows,
  );
} finally {
  await runCleanups();
}
