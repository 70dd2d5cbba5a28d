import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * External model servers the gateway's tests start as child processes (real HTTP on a real port):
 * the Node one (MLflow, OIP and plain JSON over one logistic model) and, when Debian's
 * /usr/bin/python3 has sklearn, a Python one over a real sklearn model.
 */

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/gateway');

export interface ModelServer {
  url: string;
  port: number;
  /** Switches behaviour: ok | slow | garbage | error500 | error503once; and the reported model (v1 | v2). */
  control(set: { mode?: string; identity?: string; failAfter?: number }): Promise<void>;
  /** Model calls it answered so far (metadata, probes and predictions). */
  calls(): Promise<number>;
  /** Kills the process (the port then refuses connections). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
}

function waitForPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`model server did not start: ${out}`)), 30_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`model server exited (${code}): ${out}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** The Node model server (see test/fixtures/gateway/model-server.mjs). */
export async function startNodeModelServer(): Promise<ModelServer> {
  const script = path.join(fixtures, 'model-server.mjs');
  let child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await waitForPort(child);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    async control(set) {
      const res = await fetch(`${url}/control`, { method: 'POST', body: JSON.stringify(set) });
      if (!res.ok) throw new Error(`control failed: ${res.status}`);
    },
    async calls() {
      const res = await fetch(`${url}/control`, { method: 'POST', body: '{}' });
      return ((await res.json()) as { calls: number }).calls;
    },
    stop: () => stopChild(child),
    async restart() {
      child = spawn(process.execPath, [script], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, PORT: String(port) },
      });
      await waitForPort(child);
    },
  };
}

const PYTHON = '/usr/bin/python3';

/** Why the sklearn server cannot run here (null when it can). */
export function sklearnUnavailable(): string | null {
  try {
    execFileSync(PYTHON, ['-c', 'import sklearn, numpy'], { stdio: 'ignore', timeout: 30_000 });
    return null;
  } catch {
    return `${PYTHON} cannot import sklearn (install Debian's python3-sklearn to run it)`;
  }
}

/** The Python server over a real sklearn model (see test/fixtures/gateway/sklearn_server.py). */
export async function startSklearnServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(PYTHON, [path.join(fixtures, 'sklearn_server.py')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await waitForPort(child);
  return { url: `http://127.0.0.1:${port}`, stop: () => stopChild(child) };
}
