import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

/** A `sextant worker` child process, started and ready (it printed 'started'). */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Everything the worker wrote to stderr so far. */
  stderr(): string;
}

const bin = path.resolve('bin/sextant.js');

/**
 * Spawns `sextant worker` with the given environment (SEXTANT_HOME, database, Redis) and resolves once
 * it says it started; rejects if it exits first or takes longer than a minute. A short lease lets a
 * test that kills a worker see its jobs taken over quickly.
 */
export function startWorker(
  env: Record<string, string>,
  options: { concurrency?: number; leaseMs?: number } = {},
): Promise<WorkerProcess> {
  const args = [
    bin,
    'worker',
    '--concurrency',
    String(options.concurrency ?? 2),
    '--lease-ms',
    String(options.leaseMs ?? 1500),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`worker did not start: ${err}`)), 60_000);
    const check = setInterval(() => {
      if (err.includes('started')) {
        clearTimeout(deadline);
        clearInterval(check);
        resolve({ child, pid: child.pid as number, stderr: () => err });
      }
    }, 50);
    child.once('exit', (code) => {
      clearTimeout(deadline);
      clearInterval(check);
      reject(new Error(`worker exited (${code}): ${err}`));
    });
  });
}
