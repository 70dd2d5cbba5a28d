import { parentPort, threadId } from 'node:worker_threads';
import { type BuiltSegment, buildSealedSegment } from './segment-seal-parquet.js';

/*
 * The seal worker thread of the prediction log: decodes a segment file and writes its rows as a
 * Parquet file in the folder it is given, so that a seal of 100,000 rows never holds up the serving
 * process's event loop. Builds run one at a time, in the order asked (a 2-core server gives sealing
 * one core at most); the caller stores the file, commits, and removes the folder.
 */

export interface SealRequest {
  seq: number;
  file: string;
  dir: string;
}
export type SealReply =
  | ({ seq: number; ok: true; threadId: number } & BuiltSegment)
  | { seq: number; ok: false; message: string };

let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', (msg: SealRequest) => {
  queue = queue.then(async () => {
    let reply: SealReply;
    try {
      reply = { seq: msg.seq, ok: true, threadId, ...(await buildSealedSegment(msg.file, msg.dir)) };
    } catch (err) {
      reply = { seq: msg.seq, ok: false, message: String((err as Error)?.message ?? err) };
    }
    parentPort?.postMessage(reply);
  });
});
