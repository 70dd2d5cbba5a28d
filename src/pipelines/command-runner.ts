import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/*
 * Runs a `run:` step's command in a shell, in its own process group, so a timeout or a cancel kills
 * everything the command started (a pipeline of processes, a training script's workers), not only the
 * shell. The step reports values by appending `name=value` lines to the file $SEXTANT_OUTPUT names
 * (as GitHub Actions' $GITHUB_OUTPUT).
 */

export interface CommandResult {
  exitCode: number | null;
  timedOut: boolean;
  aborted: boolean;
  /** The last lines of stdout and stderr together. */
  tail: string;
  /** name=value lines the command wrote to $SEXTANT_OUTPUT. */
  values: Record<string, string>;
}

const TAIL_CHARS = 4_000;

export async function runCommand(o: {
  command: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
  /** Called with output as it comes, at most every flushMs (the caller appends it to the step's log). */
  onOutput: (text: string) => Promise<void>;
  flushMs?: number;
}): Promise<CommandResult> {
  const outFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-step-')), 'output');
  fs.writeFileSync(outFile, '');
  const child = spawn(o.command, {
    shell: process.platform === 'win32' ? true : '/bin/sh',
    cwd: o.cwd,
    env: { ...process.env, ...o.env, SEXTANT_OUTPUT: outFile },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let pending = '';
  let timedOut = false;
  let aborted = false;
  const collect = (b: Buffer) => {
    const s = b.toString('utf8');
    pending += s;
    tail = (tail + s).slice(-TAIL_CHARS);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    if (!pending) return flushing;
    const text = pending;
    pending = '';
    // Appends stay in order; a failed append loses that chunk of the live log, never the step.
    flushing = flushing.then(() => o.onOutput(text).catch(() => {}));
    return flushing;
  };
  const ticker = setInterval(() => void flush(), o.flushMs ?? 250);
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, o.timeoutMs);
  const onAbort = () => {
    aborted = true;
    killGroup();
  };
  o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.signal.aborted) onAbort();
  const exitCode = await new Promise<number | null>((resolve) => {
    child.on('error', (err) => {
      collect(Buffer.from(`${err.message}\n`));
      resolve(127);
    });
    child.on('close', (code) => resolve(code));
  });
  clearTimeout(timer);
  clearInterval(ticker);
  o.signal.removeEventListener('abort', onAbort);
  await flush();
  const values: Record<string, string> = {};
  for (const line of fs.readFileSync(outFile, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  fs.rmSync(path.dirname(outFile), { recursive: true, force: true });
  return { exitCode, timedOut, aborted, tail, values };
}
