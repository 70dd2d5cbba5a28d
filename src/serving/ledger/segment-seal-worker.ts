import { parentPort, threadId } from 'node:worker_threads';
import { lowerThreadPriority } from '../../core/thread-priority.js';
import { type BuiltSegment, buildSealedSegment } from './segment-seal-parquet.js';

/*
 * The seal worker thread of the prediction log: decodes a segment file and writes its rows as a
 * Parquet file in the folder it is given, so that a seal of 100,000 rows never holds up the serving
 * process's event loop. Builds run one at a time, in the order asked (a 2-core server gives sealing
 * one core at most); the caller stores the file, commits, and removes the folder.
 *
 * The thread runs at background priority on Linux (nice 19, core/thread-priority.ts), DuckDB's COPY
 * included (it runs on this thread): a seal takes the CPU the serving threads leave, not theirs. A
 * server kept busy seals later, the segment files waiting on disk (durable, read as they are);
 * measured in bench/serving.bench.ts, a seal competing at normal priority cost the event loop about a
 * third of its throughput on 2 cores with batches of 32 records.
 */
const niceness = lowerThreadPriority();

export interface SealRequest {
  seq: number;
  file: string;
  dir: string;
}
export type SealReply =
  | ({ seq: number; ok: true; threadId: number; niceness: number | undefined } & BuiltSegment)
  | { seq: number; ok: false; message: string };

let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', (msg: SealRequest) => {
  queue = queue.then(async () => {
    let reply: SealReply;
    try {
      reply = {
        seq: msg.seq,
        ok: true,
        threadId,
        niceness,
        ...(await buildSealedSegment(msg.file, msg.dir)),
      };
    } catch (err) {
      reply = { seq: msg.seq, ok: false, message: String((err as Error)?.message ?? err) };
    }
    parentPort?.postMessage(reply);
  });
});
