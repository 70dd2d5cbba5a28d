import { Worker } from 'node:worker_threads';
import { workerEntry } from '../../core/worker-entry.js';
import type { BuiltSegment } from './segment-seal-parquet.js';
import type { SealReply, SealRequest } from './segment-seal-worker.js';

/** A segment's Parquet file built by the seal worker, and the thread that built it. */
export interface SealBuild extends BuiltSegment {
  threadId: number;
  /** The seal thread's nice value (19 on Linux: background priority), undefined where it was not set. */
  niceness: number | undefined;
}

/** Builds sealed segments' Parquet files off the event loop (segment-seal-worker.ts). */
export interface SegmentSealer {
  /** Decodes the segment file and writes its rows as `rows.parquet` in `dir` (a folder the caller owns). */
  build(file: string, dir: string): Promise<SealBuild>;
  /** Stops the thread once no other writer of the process uses it; builds still in flight fail. */
  close(): Promise<void>;
}

/*
 * One seal thread per process, shared by every segment writer (a server runs one ledger per
 * deployment): seals then run one after another, never two at once on a 2-core machine. It starts
 * at the first seal (most ledgers seal nothing for minutes) and stops when the last writer closes.
 */
let shared: { thread: SealThread; users: number } | undefined;

/** The process's seal thread, for one more user; `close` gives it back. */
export function acquireSegmentSealer(): SegmentSealer {
  if (!shared) shared = { thread: sealThread(), users: 0 };
  shared.users++;
  const mine = shared;
  let closed = false;
  return {
    build: (file, dir) => mine.thread.build(file, dir),
    close: async () => {
      if (closed) return;
      closed = true;
      if (--mine.users > 0) return;
      if (shared === mine) shared = undefined;
      await mine.thread.stop();
    },
  };
}

interface SealThread {
  build(file: string, dir: string): Promise<SealBuild>;
  stop(): Promise<void>;
}

/** A seal worker; a thread that crashed fails its builds and is started again by the next one. */
function sealThread(): SealThread {
  const entry = workerEntry(import.meta.url, 'segment-seal-worker');
  let worker: Worker | undefined;
  let seq = 0;
  const waiting = new Map<number, { resolve: (b: SealBuild) => void; reject: (err: Error) => void }>();

  const start = (): Worker => {
    const w = new Worker(entry);
    // Idle, the thread must not keep the process alive; while a build is in flight it must.
    w.unref();
    w.on('message', (msg: SealReply) => {
      const p = waiting.get(msg.seq);
      waiting.delete(msg.seq);
      if (waiting.size === 0) w.unref();
      if (!p) return;
      if (msg.ok) {
        const { seq: _seq, ok: _ok, ...built } = msg;
        p.resolve(built);
      } else p.reject(new Error(`sealing a segment failed in the seal thread: ${msg.message}`));
    });
    const gone = (err: Error) => {
      if (worker !== w) return;
      worker = undefined;
      for (const [n, p] of [...waiting]) {
        waiting.delete(n);
        p.reject(err);
      }
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`the seal thread exited (code ${code}) during a seal`)));
    return w;
  };

  return {
    build: (file, dir) => {
      worker ??= start();
      const w = worker;
      const msg: SealRequest = { seq: ++seq, file, dir };
      return new Promise<SealBuild>((resolve, reject) => {
        waiting.set(msg.seq, { resolve, reject });
        w.ref();
        w.postMessage(msg);
      });
    },
    stop: async () => {
      const w = worker;
      if (!w) return;
      await w.terminate();
    },
  };
}
