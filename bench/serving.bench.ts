import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { openWorkspace } from '../src/app/index.js';
import { createLocalApi } from '../src/cli/local-api.js';
import { loadConfig } from '../src/core/config.js';
import { seededRandom } from '../src/core/random.js';
import {
  CLI_NODE_FLAGS,
  creditRecords,
  openHarnessWorkspace,
  prepareServingWorkspace,
  type ServeProcess,
  startServe,
  workspaceEnv,
} from '../test/e2e/serving-serve-harness.js';
import { foreignLogisticOnnx } from '../test/fixtures/foreign-onnx.js';
import {
  fmtInt,
  fmtMs,
  fmtRatio,
  intEnv,
  median,
  onCleanup,
  printTable,
  processCpuMs,
  progress,
  runCleanups,
  tempDir,
  threadCpuMs,
} from './support.js';
import { reportTarget } from './targets.js';

/*
 * Serving benchmark (npm run bench:serving). Prints tables and ratios; asserts nothing.
 * Two models, each answered side by side on this machine by
 *   bare     node:http + onnxruntime-node, nothing else (bench/serving-bare.ts)
 *   durable  `sextant serve` with the durable ledger: a reply leaves once its prediction is on disk
 *   async    `sextant serve --ledger async`: the prediction is logged within the flush interval
 * each in its own process, loaded by autocannon from this process over loopback with the same body,
 * connections and duration, in alternating rounds (bare, durable, async, bare, durable, ...).
 * The models: `tree`, the demo's credit model (gbdt, 60 trees, depth 5, one input per column), and
 * `linear`, a logistic regression over 30 float features in one tensor input [None, 30] (skl2onnx's
 * shape), so cheap that the servers' own work is most of each request.
 * Targets (issue 19): throughput durable/bare >= 0.9 for single records and >= 0.8 for batches,
 * p99 latency durable/bare <= 1.5.
 * CPU US/REQ: the server process's CPU time (all threads, onnxruntime's included) per answered request,
 * from /proc; on a machine shared with other work it moves far less than requests/s does.
 * Knobs: BENCH_SERVING_SECONDS (10), BENCH_SERVING_CONNECTIONS (32), BENCH_SERVING_ROUNDS (2),
 * BENCH_SERVING_BATCH (32: records per request of the batch variant), BENCH_SERVING_ONLY
 * (single | batch: run one variant), BENCH_SERVING_MODELS (tree,linear), BENCH_SERVING_BARE_SPINNING (0: the
 * bare server's onnxruntime threads block between runs as sextant's do, instead of spinning, its default), BENCH_SERVING_ASYNC (1; 0
 * leaves the async server out), BENCH_SERVING_TABLE (1; 0 leaves out the durable server writing the
 * old `predictions` table, run beside the segment log as the before), BENCH_SERVING_STRACE (1; 0 skips counting the durable server's fsyncs
 * per request with strace), BENCH_SERVING_PROFILE (a folder: the sextant servers write --cpu-prof
 * profiles there), BENCH_SERVING_THREADS (1: after each run, every server thread's CPU time per request,
 * from /proc/<pid>/task; the threads are all named `node`, the busiest is the event loop).
 */

const SECONDS = intEnv('BENCH_SERVING_SECONDS', 10);
const CONNECTIONS = intEnv('BENCH_SERVING_CONNECTIONS', 32);
const ROUNDS = intEnv('BENCH_SERVING_ROUNDS', 2);
const BATCH = intEnv('BENCH_SERVING_BATCH', 32);
const ONLY = process.env.BENCH_SERVING_ONLY ?? '';
if (!['', 'single', 'batch'].includes(ONLY))
  throw new Error(`BENCH_SERVING_ONLY must be single or batch, got '${ONLY}'`);
const WITH_ASYNC = (process.env.BENCH_SERVING_ASYNC ?? '1') !== '0';
/** The durable server on the old storage (a row per prediction in `predictions`), side by side: before/after. */
const WITH_TABLE = (process.env.BENCH_SERVING_TABLE ?? '1') !== '0';
const STRACE = straceAvailable();
const FSYNC_SECONDS = 3;
const MODELS = (process.env.BENCH_SERVING_MODELS ?? 'tree,linear').split(',').filter(Boolean);
for (const m of MODELS)
  if (m !== 'tree' && m !== 'linear') throw new Error(`BENCH_SERVING_MODELS: tree or linear, got '${m}'`);
const PROFILE_DIR = process.env.BENCH_SERVING_PROFILE;
const THREADS = process.env.BENCH_SERVING_THREADS === '1';
const THROUGHPUT_TARGET = { single: 0.9, batch: 0.8 };
const P99_TARGET = 1.5;
/** The linear model's width. */
const LINEAR_FEATURES = 30;

type ModelKind = 'tree' | 'linear';

interface BenchModel {
  kind: ModelKind;
  /** Registered name in the workspace. */
  name: string;
  title: string;
  /** The columns of a single tensor input, for the bare server (linear). */
  columns?: string[];
  records(n: number): Record<string, unknown>[];
}

type ServerKind = 'bare' | 'durable-table' | 'durable' | 'async';

interface Target {
  kind: ServerKind;
  baseUrl: string;
  /** The deployment whose log the run's predictions land in (sextant only). */
  deployment?: string;
  /** The server's process, whose CPU time a run reads. */
  pid?: number | undefined;
}

interface Sample {
  reqPerSec: number;
  p50: number;
  p99: number;
  ok: number;
  failed: number;
  /** The server process's CPU time (all its threads) per answered request, in us; NaN where /proc is missing. */
  cpuUs: number;
}

/**
 * This process's environment less the heap flags the project's .npmrc adds to NODE_OPTIONS (`npx
 * tsx` runs this bench with them): the bare server runs with Node's defaults, as its author would.
 */
function nodeDefaultsEnv(): NodeJS.ProcessEnv {
  const options = (process.env.NODE_OPTIONS ?? '')
    .split(/\s+/)
    .filter((o) => o !== '' && !CLI_NODE_FLAGS.includes(o));
  return { ...process.env, NODE_OPTIONS: options.join(' ') };
}

/** The baseline server in its own process; resolves with its URL once it prints its port. */
async function startBare(
  modelFile: string,
  columns?: string[],
): Promise<{ baseUrl: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL('./serving-bare.ts', import.meta.url).pathname,
      modelFile,
      ...(columns ? [columns.join(',')] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: nodeDefaultsEnv() },
  );
  onCleanup(() => stop(child));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(Number(buf.trim()));
    });
    child.once('exit', (code) => reject(new Error(`bare server exited early (code ${code})`)));
  });
  return { baseUrl: `http://127.0.0.1:${port}`, child };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function startSextant(
  home: string,
  model: string,
  mode: 'durable' | 'async',
  log: 'segments' | 'table' = 'segments',
): Promise<ServeProcess> {
  const name = log === 'table' ? `bench-${mode}-table` : `bench-${mode}`;
  const serve = await startServe(
    workspaceEnv(home, { SEXTANT_LOG_LEVEL: 'warn', SEXTANT_PREDICTION_LOG: log }),
    ['serve', `${model}@champion`, '--port', '0', '--name', name, '--ledger', mode],
    PROFILE_DIR
      ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${path.resolve(PROFILE_DIR, `${model}-${name}`)}`] }
      : {},
  );
  onCleanup(() => stop(serve.child));
  return serve;
}

async function load(target: Target, body: string, seconds: number): Promise<Sample> {
  const cpu0 = processCpuMs(target.pid);
  const threads0 = THREADS ? threadCpuMs(target.pid) : undefined;
  const run = autocannon({
    url: `${target.baseUrl}/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    duration: seconds,
  });
  // autocannon's own histogram keeps whole milliseconds, too coarse for replies of 1-3 ms (a p99 of
  // 1 ms against 2 ms reads as 2x); each reply's time is taken here, as it arrives, to the microsecond.
  const latencies = new LatencyLog();
  run.on('response', (_client, statusCode, _bytes, ms) => {
    const code = Number(statusCode);
    if (code >= 200 && code < 300) latencies.add(ms);
  });
  const r = await run;
  if (threads0) {
    const per = [...threadCpuMs(target.pid)]
      .map(([k, ms]) => [k, ((ms - (threads0.get(k) ?? 0)) * 1000) / Math.max(1, r['2xx'])] as const)
      .filter(([, us]) => us >= 1)
      .sort((a, b) => b[1] - a[1]);
    progress(
      `${target.kind} threads (CPU us/req): ${per.map(([k, us]) => `${k}=${us.toFixed(0)}`).join(', ')}`,
    );
  }
  return {
    reqPerSec: r['2xx'] / r.duration,
    p50: latencies.percentile(50),
    p99: latencies.percentile(99),
    ok: r['2xx'],
    failed: r.non2xx + r.errors,
    cpuUs: ((processCpuMs(target.pid) - cpu0) * 1000) / Math.max(1, r['2xx']),
  };
}

/** Reply times in milliseconds, kept in a growing Float64Array (a load round has a few hundred thousand). */
class LatencyLog {
  private values = new Float64Array(1 << 16);
  private count = 0;

  add(ms: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = ms;
  }

  /** The p-th percentile (0..100) by nearest rank; NaN when nothing was recorded. */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const sorted = this.values.subarray(0, this.count).sort();
    return sorted[Math.min(this.count - 1, Math.max(0, Math.ceil((p / 100) * this.count) - 1))]!;
  }
}

/** Whether strace can be used to count the durable server's fsyncs. */
function straceAvailable(): boolean {
  if (process.env.BENCH_SERVING_STRACE === '0') return false;
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Loads the server for FSYNC_SECONDS with strace attached to all its threads; counts fsync + fdatasync. */
async function countFsyncs(
  serve: ServeProcess,
  body: string,
): Promise<{ fsyncs: number; requests: number } | undefined> {
  progress(`durable: counting fsyncs under strace (${FSYNC_SECONDS} s)`);
  // The segment log opens its file with O_DSYNC: each positioned write (pwrite64) is a synced one, so
  // those count as fsyncs beside fsync and fdatasync (nothing else the server does per request is a pwrite).
  const traced = 'trace=fsync,fdatasync,pwrite64';
  const tracer = spawn('strace', ['-f', '-c', '-e', traced, '-p', String(serve.child.pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let report = '';
  tracer.stderr?.on('data', (d: Buffer) => (report += d.toString()));
  const exited = new Promise<void>((resolve) => tracer.once('exit', () => resolve()));
  await new Promise((r) => setTimeout(r, 1000)); // attached to every thread
  const s = await load({ kind: 'durable', baseUrl: serve.baseUrl }, body, FSYNC_SECONDS);
  tracer.kill('SIGINT');
  await exited;
  let fsyncs = 0;
  for (const m of report.matchAll(
    /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync|pwrite64)\s*$/gm,
  ))
    fsyncs += Number(m[1]);
  return fsyncs > 0 ? { fsyncs, requests: s.ok } : undefined;
}

/** Registers the bench's model in a fresh workspace; returns its file and how to make records. */
async function prepareModel(kind: ModelKind, home: string): Promise<{ model: BenchModel; file: string }> {
  const file = path.join(home, 'model.onnx');
  if (kind === 'tree') {
    progress('training the demo credit model (gbdt, 60 trees, depth 5) and registering it');
    const name = 'bench-credit';
    const { onnx } = await prepareServingWorkspace({ home, model: name, kind: 'gbdt', rows: 2000 });
    fs.writeFileSync(file, onnx.get(1)!);
    return {
      model: {
        kind,
        name,
        title: 'the demo credit model (gbdt, 60 trees, depth 5)',
        records: (n) => creditRecords(n, 23),
      },
      file,
    };
  }
  progress(`registering a logistic regression over ${LINEAR_FEATURES} floats in one tensor input`);
  const name = 'bench-linear';
  const rand = seededRandom(5);
  const weights = Array.from({ length: LINEAR_FEATURES }, () => rand() * 2 - 1);
  const columns = Array.from({ length: LINEAR_FEATURES }, (_, i) => `x${i}`);
  fs.writeFileSync(file, foreignLogisticOnnx({ weights, bias: 0.1 }));
  const ws = await openHarnessWorkspace(home);
  try {
    const api = createLocalApi(ws);
    await api.models.registerFile(name, {
      filename: 'model.onnx',
      content: fs.readFileSync(file),
      features: columns.join(','),
    });
    await api.models.setPolicy(name, 'approvals: 0\n');
    await api.models.promote({ ref: `${name}@1`, alias: 'champion', reason: 'bench' });
  } finally {
    await ws.close();
  }
  return {
    model: {
      kind,
      name,
      title: `a logistic regression (${LINEAR_FEATURES} float features, one tensor input)`,
      columns,
      records: (n) => {
        const r = seededRandom(23);
        return Array.from({ length: n }, () =>
          Object.fromEntries(columns.map((c) => [c, Math.round((r() * 4 - 2) * 1000) / 1000])),
        );
      },
    },
    file,
  };
}

async function benchModel(kind: ModelKind): Promise<void> {
  const home = tempDir(`sextant-bench-serving-${kind}-`);
  const { model, file } = await prepareModel(kind, home);

  progress('starting the servers (each in its own process)');
  const bare = await startBare(file, model.columns);
  const durableTable = WITH_TABLE ? await startSextant(home, model.name, 'durable', 'table') : undefined;
  const durable = await startSextant(home, model.name, 'durable');
  const asyncServe = WITH_ASYNC ? await startSextant(home, model.name, 'async') : undefined;
  const targets: Target[] = [
    { kind: 'bare', baseUrl: bare.baseUrl, pid: bare.child.pid },
    ...(durableTable
      ? [
          {
            kind: 'durable-table' as const,
            baseUrl: durableTable.baseUrl,
            deployment: 'bench-durable-table',
            pid: durableTable.child.pid,
          },
        ]
      : []),
    { kind: 'durable', baseUrl: durable.baseUrl, deployment: 'bench-durable', pid: durable.child.pid },
    ...(asyncServe
      ? [
          {
            kind: 'async' as const,
            baseUrl: asyncServe.baseUrl,
            deployment: 'bench-async',
            pid: asyncServe.child.pid,
          },
        ]
      : []),
  ];

  const records = model.records(BATCH);
  const variants = [
    {
      name: 'single',
      records: 1,
      target: THROUGHPUT_TARGET.single,
      body: JSON.stringify({ dataframe_records: records.slice(0, 1) }),
    },
    {
      name: `batch of ${BATCH}`,
      records: BATCH,
      target: THROUGHPUT_TARGET.batch,
      body: JSON.stringify({ dataframe_records: records }),
    },
  ].filter((v) => ONLY === '' || v.name.startsWith(ONLY));

  const loadBefore = os.loadavg()[0]!;
  const results = new Map<string, Sample[]>();
  // Predictions replied per server (warm-ups included), to compare with what its log holds.
  const replied = new Map<ServerKind, number>();
  const count = (t: Target, s: Sample, records: number) =>
    replied.set(t.kind, (replied.get(t.kind) ?? 0) + s.ok * records);
  for (const variant of variants) {
    // Warm-up: JIT, onnxruntime's first runs, the ledger's worker; not measured.
    for (const t of targets) count(t, await load(t, variant.body, Math.min(2, SECONDS)), variant.records);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of targets) {
        progress(
          `${kind} ${variant.name}: round ${round}/${ROUNDS}, ${t.kind} (${SECONDS} s, ${CONNECTIONS} connections)`,
        );
        const s = await load(t, variant.body, SECONDS);
        progress(`  ${t.kind}: ${fmtInt(s.reqPerSec)} req/s, p50 ${fmtMs(s.p50)} ms, p99 ${fmtMs(s.p99)} ms`);
        count(t, s, variant.records);
        const key = `${variant.name}|${t.kind}`;
        results.set(key, [...(results.get(key) ?? []), s]);
      }
    }
  }
  const loadAfter = os.loadavg()[0]!;

  console.log(
    `\nServing ${model.title} on loopback: ${CONNECTIONS} connections, ${SECONDS} s per run, ` +
      `${ROUNDS} alternating rounds, medians of the rounds\n`,
  );
  const rows: string[][] = [];
  const ratios: string[] = [];
  for (const variant of variants) {
    const med = (kind: ServerKind) => {
      const samples = results.get(`${variant.name}|${kind}`) ?? [];
      return {
        reqPerSec: median(samples.map((s) => s.reqPerSec)),
        p50: median(samples.map((s) => s.p50)),
        p99: median(samples.map((s) => s.p99)),
        failed: samples.reduce((a, s) => a + s.failed, 0),
        cpuUs: median(samples.map((s) => s.cpuUs)),
      };
    };
    const base = med('bare');
    for (const t of targets) {
      const m = med(t.kind);
      rows.push([
        variant.name,
        t.kind === 'bare'
          ? 'bare node:http + onnxruntime'
          : t.kind === 'durable-table'
            ? 'sextant serve (durable, predictions table: before)'
            : `sextant serve (${t.kind} ledger, segment log)`,
        fmtInt(m.reqPerSec),
        fmtInt(m.reqPerSec * variant.records),
        fmtMs(m.p50),
        fmtMs(m.p99),
        t.kind === 'bare' ? '-' : fmtRatio(m.reqPerSec / base.reqPerSec),
        t.kind === 'bare' ? '-' : fmtRatio(m.p99 / base.p99),
        Number.isNaN(m.cpuUs) ? '-' : fmtInt(m.cpuUs),
        t.kind === 'bare' || Number.isNaN(m.cpuUs) ? '-' : fmtRatio(base.cpuUs / m.cpuUs),
        String(m.failed),
      ]);
      if (t.kind !== 'bare') {
        const tp = m.reqPerSec / base.reqPerSec;
        const p99 = m.p99 / base.p99;
        ratios.push(
          `${kind}, ${variant.name}, ${t.kind}: throughput ${fmtRatio(tp)} of bare (target >= ${variant.target}x: ${tp >= variant.target ? 'met' : 'MISSED'}), ` +
            `p99 ${fmtRatio(p99)} of bare (target <= ${P99_TARGET}x: ${p99 <= P99_TARGET ? 'met' : 'MISSED'})`,
        );
        // The targets are set for the durable ledger (the default).
        if (t.kind === 'durable') {
          const measure = `${kind}, ${variant.name}, durable ledger vs bare server`;
          const met = tp >= variant.target;
          reportTarget({
            bench: 'serving',
            measure: `${measure}: throughput`,
            value: fmtRatio(tp),
            target: `>= ${variant.target}x`,
            met,
          });
          reportTarget({
            bench: 'serving',
            measure: `${measure}: p99`,
            value: fmtRatio(p99),
            target: `<= ${P99_TARGET}x`,
            met: p99 <= P99_TARGET,
          });
        }
      }
    }
  }
  printTable(
    [
      'BODY',
      'SERVER',
      'REQ/S',
      'PRED/S',
      'P50 MS',
      'P99 MS',
      'REQ/S vs BARE',
      'P99 vs BARE',
      'CPU US/REQ',
      'BARE CPU / CPU',
      'FAILED',
    ],
    rows,
  );
  console.log('');
  for (const line of ratios) console.log(line);

  // Group commit, seen from outside: the fsyncs the durable server makes per request under the
  // same load (strace counts them; a separate, unmeasured run, since tracing slows the process).
  console.log('');
  const single = variants.find((v) => v.records === 1) ?? variants[0]!;
  const fsyncs = STRACE ? await countFsyncs(durable, single.body) : undefined;
  if (fsyncs) {
    console.log(
      `durable ledger, group commit (${single.name}, ${CONNECTIONS} connections, ${FSYNC_SECONDS} s under strace): ` +
        `${fmtInt(fsyncs.fsyncs)} fsyncs (fsync, fdatasync or an O_DSYNC write) for ${fmtInt(fsyncs.requests)} requests = ${(fsyncs.fsyncs / fsyncs.requests).toFixed(3)} fsyncs per request ` +
        `(${(fsyncs.requests / Math.max(1, fsyncs.fsyncs)).toFixed(1)} requests per fsync)`,
    );
  } else {
    console.log(
      `(fsyncs per request not measured: ${STRACE ? 'strace failed' : 'strace not found or BENCH_SERVING_STRACE=0'})`,
    );
  }
  if (fsyncs) replied.set('durable', (replied.get('durable') ?? 0) + fsyncs.requests * single.records);
  // Group commits over the whole run (all variants, warm-ups included), from each server's /metrics.
  for (const t of targets) {
    if (t.kind === 'bare') continue;
    const c = await ledgerCommits(t.baseUrl);
    if (c)
      console.log(
        `${t.kind} ledger: ${fmtInt(c.rows)} rows in ${fmtInt(c.commits)} group commits (${(c.rows / Math.max(1, c.commits)).toFixed(1)} rows a commit, no strace)`,
      );
  }

  // Every replied prediction is in the log. The servers stop gracefully first (the async ledger
  // flushes), so the log is complete when counted.
  await Promise.all([
    stop(bare.child),
    stop(durable.child),
    ...(durableTable ? [stop(durableTable.child)] : []),
    ...(asyncServe ? [stop(asyncServe.child)] : []),
  ]);
  const ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home, SEXTANT_LOG_LEVEL: 'silent' }));
  try {
    for (const t of targets) {
      if (t.kind === 'bare' || !t.deployment) continue;
      const logged = await countLogged(ws, t.deployment);
      const r = replied.get(t.kind) ?? 0;
      console.log(
        `${t.kind} ledger: ${fmtInt(logged)} predictions logged for ${fmtInt(r)} replied and counted by autocannon ` +
          `(${logged >= r ? 'none missing' : `${fmtInt(r - logged)} MISSING`}; the ${fmtInt(logged - r)} more were answered after a run's clock stopped)`,
      );
    }
  } finally {
    await ws.close();
  }
  console.log(
    `\nnode ${process.version}, ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores, load average ` +
      `${loadBefore.toFixed(2)} before / ${loadAfter.toFixed(2)} after; load generator (autocannon) in this process, ` +
      'each server in its own',
  );
}

async function main(): Promise<void> {
  for (const kind of MODELS) await benchModel(kind as ModelKind);
}

/** The ledger's group commits and rows so far, read from a `sextant serve`'s /metrics (undefined if unreadable). */
async function ledgerCommits(baseUrl: string): Promise<{ commits: number; rows: number } | undefined> {
  try {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const sum = (name: string) =>
      [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'gm'))].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
    return { commits: sum('sextant_ledger_commits_total'), rows: sum('sextant_ledger_rows_total') };
  } catch {
    return undefined;
  }
}

/** Predictions the deployment logged (warm-ups included). */
async function countLogged(
  ws: Awaited<ReturnType<typeof openWorkspace>>,
  deployment: string,
): Promise<number> {
  const dep = await ws.store.db
    .selectFrom('deployments')
    .select('id')
    .where('name', '=', deployment)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!dep) return 0;
  // The table and the segments alike (the read side merges them).
  return ws.serving.predictions.countWindow({ deploymentId: dep.id, until: Date.now() + 1 });
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
