import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { loadConfig } from '../../src/core/config.js';
import {
  CREDIT_TARGET,
  creditDataToTable,
  type FittedModel,
  fitModel,
  generateCreditData,
  type TrainerKind,
} from '../../src/ml/index.js';

/*
 * Shared parts of the `sextant serve` suites and the serving benchmark: a workspace with a small
 * credit model registered (and its champion alias set), `sextant serve` started as a real child
 * process, and a load generator that keeps N requests in flight and remembers every reply it got.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'sextant.js');

/**
 * The node flags the project's .npmrc gives Node (`node-options`: npm puts them in NODE_OPTIONS for
 * `npx sextant` and `npm run`). The servers started here get them too, so tests and benchmarks run
 * the server as a user of the README's commands does.
 */
export const CLI_NODE_FLAGS: readonly string[] = (() => {
  const npmrc = readFileSync(path.join(ROOT, '.npmrc'), 'utf8');
  const m = /^node-options\s*=(.*)$/m.exec(npmrc);
  return m ? (m[1] as string).trim().split(/\s+/).filter(Boolean) : [];
})();

/** Opens the workspace at `home` in this process (quietly), on `databaseUrl` when given. */
export function openHarnessWorkspace(home: string, databaseUrl?: string): Promise<Workspace> {
  return openWorkspace(
    loadConfig({
      SEXTANT_HOME: home,
      SEXTANT_LOG_LEVEL: 'silent',
      ...(databaseUrl ? { SEXTANT_DATABASE_URL: databaseUrl } : {}),
    }),
  );
}

/** A workspace environment on `home`, without anything of the caller's SEXTANT_* settings. */
export function workspaceEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => !k.startsWith('SEXTANT_') && v !== undefined),
  ) as Record<string, string>;
  return { ...clean, SEXTANT_HOME: home, SEXTANT_LOG_LEVEL: 'warn', ...extra };
}

export type CreditRecord = Record<string, number | string>;

/** Applicant records (the model's features, no label) to send as traffic. */
export function creditRecords(n: number, seed = 11): CreditRecord[] {
  return generateCreditData({ rows: n, seed }).rows.map(
    ({ [CREDIT_TARGET]: _label, ...features }) => features,
  );
}

/** The demo's credit model, trained in-process (no dataset version: the file is registered as is). */
export function trainCreditModel(
  opts: { kind?: TrainerKind; rows?: number; seed?: number } = {},
): FittedModel {
  const kind = opts.kind ?? 'linear';
  return fitModel({
    table: creditDataToTable(generateCreditData({ rows: opts.rows ?? 600, seed: opts.seed ?? 7 })),
    target: CREDIT_TARGET,
    task: 'classification',
    kind,
    seed: opts.seed ?? 7,
    // The demo's sweep space (60 trees, learning rate 0.1, depth 5 is one of its trials).
    ...(kind === 'gbdt' ? { params: { n_estimators: 60, learning_rate: 0.1, max_depth: 5 } } : {}),
  });
}

/**
 * Registers `versions` models under `model` in the workspace at `home` (each trained on a different
 * seed, so their answers differ) and promotes version 1 to `champion`. Returns the ONNX bytes by version.
 */
export async function prepareServingWorkspace(opts: {
  home: string;
  /** The workspace's database when not the SQLite file under `home` (e.g. a PostgreSQL URL). */
  databaseUrl?: string;
  model: string;
  versions?: number;
  kind?: TrainerKind;
  rows?: number;
}): Promise<{ onnx: Map<number, Uint8Array> }> {
  const ws = await openHarnessWorkspace(opts.home, opts.databaseUrl);
  const onnx = new Map<number, Uint8Array>();
  try {
    const api = createLocalApi(ws);
    for (let i = 0; i < (opts.versions ?? 1); i++) {
      const bytes = trainCreditModel({
        seed: 7 + i,
        ...(opts.kind ? { kind: opts.kind } : {}),
        ...(opts.rows ? { rows: opts.rows } : {}),
      }).toOnnx();
      const v = await api.models.registerFile(opts.model, { filename: 'model.onnx', content: bytes });
      onnx.set(v.version, bytes);
    }
    // A one-person workspace: promotions need no second approver (the champion alias stays protected).
    await api.models.setPolicy(opts.model, 'approvals: 0\n');
    await api.models.promote({ ref: `${opts.model}@1`, alias: 'champion', reason: 'first champion' });
  } finally {
    await ws.close();
  }
  return { onnx };
}

/** Promotes `<model>@<version>` to champion through the registry (what a serving runtime follows). */
export async function promote(
  home: string,
  model: string,
  version: number,
  databaseUrl?: string,
): Promise<void> {
  const ws = await openHarnessWorkspace(home, databaseUrl);
  try {
    const request = await createLocalApi(ws).models.promote({
      ref: `${model}@${version}`,
      alias: 'champion',
      reason: 'promoted under load',
    });
    if (request.status !== 'executed') throw new Error(`promotion ${request.id} is ${request.status}`);
  } finally {
    await ws.close();
  }
}

/** A `sextant serve` child process. */
export interface ServeProcess {
  child: ChildProcess;
  baseUrl: string;
  port: number;
  /** The version the first line named. */
  version: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The line `sextant serve` prints once it listens: `serving <ref> (vN) on http://host:port`. */
export const SERVING_LINE = /^serving (\S+) \(v(\d+)\) on (http:\/\/\S+?):(\d+)\s*$/m;

/** The line `sextant server` prints once it listens: `sextant server listening on http://host:port`. */
export const SERVER_LINE = /^sextant server listening on (http:\/\/\S+?):(\d+)\s*$/m;

/** Starts `bin/sextant.js <args>`; resolves with the process once its output matches `line`. */
function startUntil(
  env: Record<string, string>,
  args: string[],
  line: RegExp,
  timeoutMs: number,
  nodeArgs: string[] = [],
): Promise<{
  child: ChildProcess;
  match: RegExpExecArray;
  output(): string;
  exited: ServeProcess['exited'];
}> {
  const child = spawn(process.execPath, [...CLI_NODE_FLAGS, ...nodeArgs, BIN, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sextant ${args.join(' ')} printed no ready line in time:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const match = line.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, output: () => out, exited });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`sextant ${args.join(' ')} exited (${code ?? signal}) before it was ready:\n${out}`));
    });
  });
}

/** Starts `bin/sextant.js <args>` with this environment; resolves once it prints its serving line. */
export async function startServe(
  env: Record<string, string>,
  args: string[],
  opts: { timeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<ServeProcess> {
  const { match: m, ...rest } = await startUntil(
    env,
    args,
    SERVING_LINE,
    opts.timeoutMs ?? 60_000,
    opts.nodeArgs,
  );
  return { ...rest, baseUrl: `${m[3]}:${m[4]}`, port: Number(m[4]), version: Number(m[2]) };
}

/** Starts `sextant server <args>`; resolves once it listens. */
export async function startServer(
  env: Record<string, string>,
  args: string[] = [],
  opts: { timeoutMs?: number } = {},
): Promise<Omit<ServeProcess, 'version'>> {
  const { match: m, ...rest } = await startUntil(
    env,
    ['server', ...args],
    SERVER_LINE,
    opts.timeoutMs ?? 60_000,
  );
  return { ...rest, baseUrl: `${m[1]}:${m[2]}`, port: Number(m[2]) };
}

/** Runs the CLI as a child process to completion (for the commands a test checks the log with). */
export function runSextant(
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

/** One prediction as a reply carried it. */
export interface RepliedPrediction {
  id: string;
  version: number;
}

/** What a load run saw: every prediction whose reply arrived whole, and everything else counted. */
export interface LoadResult {
  replied: RepliedPrediction[];
  /** Non-2xx replies by status code. */
  statuses: Map<number, number>;
  /** Requests that got no complete reply (connection refused or reset: the server went away). */
  transportErrors: number;
  /** Bodies of non-2xx replies (the first few), to explain a failure. */
  samples: string[];
}

const predictionsSchema = (text: string): RepliedPrediction[] => {
  const body = JSON.parse(text) as { predictions?: { prediction_id?: unknown; version?: unknown }[] };
  if (!Array.isArray(body.predictions)) throw new Error(`a reply without predictions: ${text.slice(0, 300)}`);
  return body.predictions.map((p) => {
    if (typeof p.prediction_id !== 'string' || typeof p.version !== 'number')
      throw new Error(`a prediction without prediction_id/version: ${JSON.stringify(p)}`);
    return { id: p.prediction_id, version: p.version };
  });
};

/**
 * Keeps `concurrency` POSTs to `route` in flight until `stop()` resolves true (checked before each
 * new request), each on its own keep-alive connection. Never throws for the server's sake: a refused
 * or cut connection is counted, and that worker stops sending once the server is gone.
 */
export async function runLoad(opts: {
  baseUrl: string;
  route?: string;
  concurrency: number;
  body: (i: number) => unknown;
  stop: () => boolean;
  /** Called after each complete 2xx reply with the total so far and this reply's predictions. */
  onReply?: (count: number, predictions: RepliedPrediction[]) => void;
}): Promise<LoadResult> {
  const result: LoadResult = { replied: [], statuses: new Map(), transportErrors: 0, samples: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  let next = 0;
  const url = `${opts.baseUrl}${opts.route ?? '/predict'}`;
  const worker = async () => {
    while (!opts.stop()) {
      const text = JSON.stringify(opts.body(next++));
      const reply = await postOnce(url, agent, text).catch(() => undefined);
      if (!reply) {
        result.transportErrors++;
        return; // the server is gone (killed or closed): this connection sends no more
      }
      if (reply.status >= 200 && reply.status < 300) {
        const predictions = predictionsSchema(reply.text);
        result.replied.push(...predictions);
        opts.onReply?.(result.replied.length, predictions);
      } else {
        result.statuses.set(reply.status, (result.statuses.get(reply.status) ?? 0) + 1);
        if (result.samples.length < 5) result.samples.push(`${reply.status} ${reply.text.slice(0, 300)}`);
        // 503 while draining: the server is closing and asks callers to go elsewhere.
        if (reply.status === 503) return;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  agent.destroy();
  return result;
}

function postOnce(url: string, agent: http.Agent, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          // A reply cut short by a kill is not a reply the caller received.
          if (!res.complete) reject(new Error('reply cut short'));
          else resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('reply aborted')));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
