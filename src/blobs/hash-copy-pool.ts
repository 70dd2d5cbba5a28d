import { randomBytes } from 'node:crypto';
import { close, fdatasync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { ConflictError, ValidationError } from '../core/errors.js';
import { DIR_FSYNC_UNSUPPORTED } from './durable-dirs.js';

/*
 * The copy-in half of LocalBlobStore.putFiles, on worker threads. sha256 runs on the thread that calls it
 * and holds it, so hashing on the main thread capped an add at one core while the copies waited for it.
 * Each worker reads and hashes a file, then (unless that content is stored already) has the kernel copy it
 * into a temp file: copy_file_range from the page cache the read just filled. Profiled on the replay of
 * DVC issue 10251 (perf), writing the bytes out of the worker's buffer instead cost about 5x the kernel's
 * copy in system time. The temp file comes back still open (fds belong to the process): the main thread
 * fdatasyncs it with the others of its group on the libuv pool, then renames them.
 *
 * The worker's code is evaluated from a string, like the hash pool's (src/data/workspace/hash-pool.ts):
 * it then runs the same from compiled JS, tsx and vitest. Synchronous calls are the point: a worker
 * has nothing else to do, and a small file costs a few syscalls and no promise.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const C = fs.constants;
const { root, mode, bufferBytes } = workerData;
const buf = Buffer.allocUnsafe(bufferBytes);

function fail(code, message) {
  const e = new Error(message || code);
  e.code = code;
  throw e;
}

function lstatOrUndefined(p) {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw e;
  }
}

function copy(source, tmpPath) {
  let src;
  try {
    // Only a regular file: no symlink followed, no FIFO waited on.
    src = fs.openSync(source, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch (e) {
    if (e.code === 'ELOOP' || e.code === 'ENOENT') fail('NOT_REGULAR');
    throw e;
  }
  let out;
  try {
    const before = fs.fstatSync(src);
    if (!before.isFile()) fail('NOT_REGULAR');
    const hash = crypto.createHash('sha256');
    let size = 0;
    let n;
    while ((n = fs.readSync(src, buf, 0, buf.length, size)) > 0) {
      hash.update(buf.subarray(0, n));
      size += n;
    }
    const after = fs.fstatSync(src);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || size !== before.size) fail('CHANGED');
    const sha256 = hash.digest('hex');
    // The key is known before anything is written: content already stored costs this read and no write
    // (the main thread then checks the stored copy).
    const existing = lstatOrUndefined(path.join(root, sha256.slice(0, 2), sha256.slice(2, 4), sha256));
    if (existing && existing.isFile() && existing.size === size) return { sha256, size, existed: true };
    // The kernel copies the bytes (copy_file_range, or a reflink): measured several times cheaper than
    // writing them out of this thread's buffer, and the source is in the page cache from the read above.
    fs.copyFileSync(source, tmpPath, C.COPYFILE_EXCL);
    out = fs.openSync(tmpPath, 'r');
    fs.fchmodSync(out, mode);
    // The copy went by name: the name must still be the file that was hashed, unchanged.
    const now = fs.lstatSync(source);
    const copied = fs.fstatSync(out);
    if (now.ino !== before.ino || now.dev !== before.dev || now.size !== size || now.mtimeMs !== before.mtimeMs || copied.size !== size)
      fail('CHANGED');
    return { sha256, size, fd: out };
  } catch (e) {
    if (out !== undefined) fs.closeSync(out);
    fs.rmSync(tmpPath, { force: true });
    throw e;
  } finally {
    fs.closeSync(src);
  }
}

// Folder fsyncs here are plain syscalls: thousands of them at the end of an add, each a round trip
// through libuv's pool (open, fsync, close) when made from the main thread.
const dirFsyncUnsupported = new Set(workerData.dirFsyncUnsupported);
function fsyncDirs(dirs) {
  for (const dir of dirs) {
    let fd;
    try {
      fd = fs.openSync(dir, 'r');
      fs.fsyncSync(fd);
    } catch (e) {
      if (!dirFsyncUnsupported.has(e.code)) throw e;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
  return {};
}

parentPort.on('message', (job) => {
  try {
    parentPort.postMessage({ ok: job.dirs ? fsyncDirs(job.dirs) : copy(job.source, job.tmpPath) });
  } catch (e) {
    parentPort.postMessage({ error: { code: e && e.code, message: String(e && e.message) } });
  }
});
`;

/** A file hashed by a worker: either its content is already stored, or a temp copy of it is open. */
export type HashedCopy =
  | { sha256: string; size: number; existed: true }
  | {
      sha256: string;
      size: number;
      existed?: undefined;
      /** The temp copy: complete, not yet synced; `syncAndClose` makes its data durable. */
      tmpPath: string;
      fd: number;
    };

type WorkerReply =
  | { ok: { sha256: string; size: number; existed?: true; fd?: number } }
  | { error: { code?: string; message: string } };

interface Job {
  message: { source: string; tmpPath: string } | { dirs: string[] };
  settle: (reply: WorkerReply) => void;
  reject: (err: unknown) => void;
}

const fdatasyncFd = promisify(fdatasync);
const closeFd = promisify(close);

/**
 * Worker threads that hash local files and copy them into temp files of a blob store (the kernel copies). `copy` queues a file; a worker takes it as soon as it is free. `close` ends the workers.
 */
export class HashCopyPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  private broken: Error | undefined;

  /**
   * @param root the store's folder (a worker looks up `ab/cd/<sha256>` to skip writing stored content)
   * @param tmpDir where temp copies land (same file system as root: the rename into place is atomic)
   * @param bufferBytes each worker's read buffer
   */
  constructor(
    threads: number,
    private readonly opts: { root: string; tmpDir: string; mode: number; bufferBytes: number },
  ) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        // The temp fds a worker opens are closed by the main thread: a tracking worker would warn when a
        // number comes back, and close whatever holds it when the worker exits.
        trackUnmanagedFds: false,
        workerData: {
          root: opts.root,
          mode: opts.mode,
          bufferBytes: opts.bufferBytes,
          dirFsyncUnsupported: [...DIR_FSYNC_UNSUPPORTED],
        },
      });
      worker.on('message', (m: WorkerReply) => this.settle(worker, m));
      const died = (err: Error) => {
        this.broken ??= err;
        this.running.get(worker)?.reject(err);
        this.running.delete(worker);
        for (const job of this.queue.splice(0)) job.reject(err);
      };
      worker.once('error', died);
      // A worker that dies without an error event (killed, out of memory) must not leave a caller waiting.
      worker.once('exit', (code) => died(new Error(`blob copy worker exited early (code ${code})`)));
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  /** Hashes and (unless already stored) copies one file; refuses what is not a regular file or changes. */
  copy(source: string): Promise<HashedCopy> {
    const tmpPath = path.join(this.opts.tmpDir, `copy-${process.pid}-${randomBytes(12).toString('hex')}`);
    return new Promise<HashedCopy>((resolve, reject) =>
      this.submit({ source, tmpPath }, reject, (m) => {
        if ('error' in m) reject(copyError(source, m.error));
        else if (m.ok.existed) resolve({ sha256: m.ok.sha256, size: m.ok.size, existed: true });
        else resolve({ sha256: m.ok.sha256, size: m.ok.size, tmpPath, fd: m.ok.fd! });
      }),
    );
  }

  /** Fsyncs folders (as fsyncDirectory does), split over the workers. */
  async fsyncDirectories(dirs: string[]): Promise<void> {
    const parts = this.workers.map((_, w) => dirs.filter((_d, i) => i % this.workers.length === w));
    await Promise.all(
      parts
        .filter((part) => part.length > 0)
        .map(
          (part) =>
            new Promise<void>((resolve, reject) =>
              this.submit({ dirs: part }, reject, (m) => {
                if ('error' in m) reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
                else resolve();
              }),
            ),
        ),
    );
  }

  private submit(message: Job['message'], reject: (err: unknown) => void, settle: Job['settle']): void {
    if (this.broken) {
      reject(this.broken);
      return;
    }
    this.queue.push({ message, settle, reject });
    this.dispatch();
  }

  /** Stops the workers (a copy still queued is rejected). */
  async close(): Promise<void> {
    this.broken ??= new Error('blob copy pool closed');
    for (const job of this.queue.splice(0)) job.reject(this.broken);
    await Promise.all(this.workers.map((w) => w.removeAllListeners('exit').terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.running.set(worker, job);
      worker.postMessage(job.message);
    }
  }

  private settle(worker: Worker, m: WorkerReply): void {
    const job = this.running.get(worker);
    this.running.delete(worker);
    this.idle.push(worker);
    this.dispatch();
    job?.settle(m);
  }
}

/** Makes a temp copy's data durable and closes it (closed even when the sync fails). */
export async function syncAndClose(fd: number): Promise<void> {
  try {
    await fdatasyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

function copyError(source: string, e: { code?: string; message: string }): Error {
  if (e.code === 'NOT_REGULAR')
    return new ValidationError(`'${source}' is not a regular file`, { field: 'path' });
  if (e.code === 'CHANGED')
    return new ConflictError(`'${source}' changed while it was being stored; try again`, { path: source });
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}
