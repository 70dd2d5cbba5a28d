import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openWorkspace, type Workspace } from '../src/app/index.js';
import { loadConfig } from '../src/core/config.js';
import { reachable } from '../test/support/services.js';

/*
 * Shared parts of the benchmarks: timers, percentiles, a real server on a loopback port, temp
 * folders and throwaway PostgreSQL databases. Benchmarks print numbers and ratios; they never assert.
 */

export const postgresUrl = process.env.SEXTANT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs fn once and returns its result with the milliseconds it took. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<{ result: T; ms: number }> {
  const start = nowMs();
  const result = await fn();
  return { result, ms: nowMs() - start };
}

/** The p-th percentile (0..100) by nearest rank; NaN for an empty list. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** The median; the mean of the two middle values for an even count. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A progress line on stderr, so the tables on stdout stay readable. */
export function progress(message: string): void {
  process.stderr.write(`  .. ${message}\n`);
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

export function fmtMs(n: number): string {
  return Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : 'n/a';
}

export function fmtRatio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}x` : 'n/a';
}

/** Prints rows as a left-aligned text table with a header rule. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  console.log(line(headers));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}

const cleanups: (() => Promise<void> | void)[] = [];

/** Registers something to undo at the end (or on Ctrl-C); runCleanups runs them newest first. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup failed: ${(err as Error).message}`);
    }
  }
}

/** A new folder under the OS temp dir, removed at cleanup. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface BenchServer {
  baseUrl: string;
  workspace: Workspace;
  home: string;
  /** CPU milliseconds the server process has used so far (user + system, from /proc; NaN elsewhere). */
  cpuMs(): number;
  close(): Promise<void>;
}

/** CPU milliseconds (user + system) a process has used, from /proc/<pid>/stat; NaN where unreadable. */
export function processCpuMs(pid: number | undefined): number {
  try {
    return statCpuMs(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return Number.NaN;
  }
}

/** utime + stime of a /proc stat line, in ms. */
function statCpuMs(stat: string): number {
  // Fields after the command name, which sits in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Each thread's CPU time in ms (/proc/<pid>/task), keyed `<tid> <name>`; empty where /proc is missing. */
export function threadCpuMs(pid: number | undefined): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      out.set(`${tid} ${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}`, statCpuMs(stat));
    }
  } catch {
    // The process is gone, or /proc is missing: what was read so far.
  }
  return out;
}

/**
 * The real server, in this process: a workspace on a temp SEXTANT_HOME (SQLite there unless a
 * database URL is given), the Fastify app, listening on a free loopback port.
 */
export async function startServer(options: { databaseUrl?: string } = {}): Promise<BenchServer> {
  const home = tempDir('sextant-bench-');
  const env = {
    SEXTANT_HOME: home,
    SEXTANT_AUDIT_KEY: 'bench-audit-key-0123456789abcdef',
    SEXTANT_LOG_LEVEL: 'silent',
    ...(options.databaseUrl ? { SEXTANT_DATABASE_URL: options.databaseUrl } : {}),
  };
  // The server runs in its own process, as it does for real clients; this process keeps a workspace
  // on the same database for setup, counting and the in-process diagnostics.
  const workspace = await openWorkspace(loadConfig(env));
  const child = spawn(
    process.execPath,
    [
      // BENCH_SERVER_PROF=<dir>: the server process writes a V8 CPU profile there when it stops.
      ...(process.env.BENCH_SERVER_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`]
        : []),
      '--import',
      'tsx',
      new URL('./server-child.ts', import.meta.url).pathname,
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(Number(buf.trim()));
    });
    child.once('exit', (code) => reject(new Error(`bench server exited early (code ${code})`)));
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    await workspace.close();
  };
  onCleanup(close);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    workspace,
    home,
    cpuMs: () => processCpuMs(child.pid),
    close,
  };
}

// One keep-alive connection pool, as MLflow's Python client (requests.Session) keeps one.
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** POSTs a JSON string over keep-alive HTTP; resolves with the status and the reply text. */
/** POSTs a JSON string; the status and the reply text. */
export function post(
  baseUrl: string,
  route: string,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${baseUrl}${route}`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs a JSON body (an object, or a string already serialised) and returns the parsed reply; throws on non-2xx. */
export async function postJson<T = unknown>(baseUrl: string, route: string, body: unknown): Promise<T> {
  const { status, text } = await post(baseUrl, route, typeof body === 'string' ? body : JSON.stringify(body));
  if (status < 200 || status >= 300) throw new Error(`POST ${route} -> ${status}: ${text.slice(0, 500)}`);
  return (text === '' ? {} : JSON.parse(text)) as T;
}

/** POSTs a JSON string and returns only the status. */
export async function postStatus(baseUrl: string, route: string, body: string): Promise<number> {
  return (await post(baseUrl, route, body)).status;
}

/**
 * A fresh PostgreSQL database on the server of `postgresUrl`, dropped at cleanup; `{ skipped }` with
 * the reason when no server answers or the database cannot be created.
 */
export async function createPostgresDatabase(): Promise<{ url: string } | { skipped: string }> {
  const shown = postgresUrl.replace(/\/\/[^@]*@/, '//');
  if (!(await reachable(postgresUrl, 5432))) return { skipped: `PostgreSQL is not reachable at ${shown}` };
  const name = `sextant_bench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } catch (err) {
    return { skipped: `cannot create a database at ${shown}: ${(err as Error).message}` };
  } finally {
    await admin.end().catch(() => undefined);
  }
  onCleanup(async () => {
    const c = new pg.Client({ connectionString: postgresUrl });
    await c.connect();
    try {
      await c.query(`drop database if exists ${name} with (force)`);
    } finally {
      await c.end();
    }
  });
  const u = new URL(postgresUrl);
  u.pathname = `/${name}`;
  return { url: u.toString() };
}

/** A positive integer knob from the environment, or the fallback when unset. */
export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return n;
}

/**
 * Records of the given number features, their values in (0, 1) from one seeded Lehmer generator
 * (MINSTD) that runs on across calls: the same sequence of records on every run.
 */
export function numberRecords(names: readonly string[]): (n: number) => Record<string, number>[] {
  let x = 1;
  return (n) =>
    Array.from({ length: n }, () => {
      const r: Record<string, number> = {};
      for (const f of names) {
        x = (x * 48271) % 2147483647;
        r[f] = x / 2147483647;
      }
      return r;
    });
}
