import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { ValidationError } from '../../core/errors.js';

/*
 * The worker's code, evaluated from a string so the pool works the same from compiled JS, tsx and vitest
 * (a .ts worker file would need a loader). Files are read synchronously into one 4 MiB buffer per worker:
 * big sequential reads and no per-chunk promise, so hashing runs at the speed of OpenSSL's sha256.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
const PROGRESS_EVERY = 64 * 1024 * 1024;
parentPort.on('message', (batch) => {
  const out = [];
  let sinceReport = 0;
  for (const p of batch.paths) {
    let fd;
    try {
      fd = fs.openSync(p, 'r');
      const h = crypto.createHash('sha256');
      let size = 0;
      let n;
      while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) {
        h.update(buf.subarray(0, n));
        size += n;
        sinceReport += n;
        if (sinceReport >= PROGRESS_EVERY) {
          parentPort.postMessage({ id: batch.id, progress: sinceReport });
          sinceReport = 0;
        }
      }
      out.push({ sha256: h.digest('hex'), size });
    } catch (e) {
      out.push({ error: String(e && e.message), code: e && e.code });
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
  parentPort.postMessage({ id: batch.id, progress: sinceReport, out });
});
`;

export interface HashedFile {
  sha256: string;
  size: number;
}

type Outcome = HashedFile | { error: string; code?: string };

// A batch is a few files or a few MiB: small files travel in groups (one message each way per batch),
// big files alone so both cores share the work.
const BATCH_FILES = 64;
const BATCH_BYTES = 32 * 1024 * 1024;

/**
 * sha256 of many files on a pool of worker threads, one per available core by default. Results come back
 * in input order; `onBytes` reports progress.
 */
export async function hashFilesInPool(
  files: { localPath: string; size: number }[],
  opts: { threads?: number; onBytes?: (bytes: number) => void } = {},
): Promise<HashedFile[]> {
  if (files.length === 0) return [];
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  files.forEach((f, i) => {
    if (current.length > 0 && (current.length >= BATCH_FILES || bytes + f.size > BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += f.size;
  });
  batches.push(current);
  const threads = Math.max(1, Math.min(opts.threads ?? os.availableParallelism(), batches.length));
  const results = new Array<HashedFile>(files.length);
  let next = 0;
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_SOURCE, { eval: true }));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              if (next >= batches.length) return resolve();
              const id = next++;
              worker.postMessage({ id, paths: batches[id]!.map((i) => files[i]!.localPath) });
            };
            worker.on('message', (m: { id: number; progress: number; out?: Outcome[] }) => {
              if (m.progress) opts.onBytes?.(m.progress);
              if (!m.out) return;
              const indexes = batches[m.id]!;
              for (const [k, o] of m.out.entries()) {
                const file = files[indexes[k]!]!;
                if ('error' in o) {
                  return reject(
                    new ValidationError(`path: cannot read '${file.localPath}': ${o.error}`, {
                      field: 'path',
                      path: file.localPath,
                    }),
                  );
                }
                results[indexes[k]!] = o;
              }
              send();
            });
            worker.once('error', reject);
            // A worker that dies without an error event (killed, out of memory) must not leave the caller waiting.
            worker.once('exit', (code) => reject(new Error(`hashing worker exited early (code ${code})`)));
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
