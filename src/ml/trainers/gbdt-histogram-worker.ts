import { workerData } from 'node:worker_threads';
import { runBinTasks } from './gbdt-bins.js';
import { Control, type HistogramWorkerData, runPart } from './gbdt-threads.js';

/*
 * A gbdt worker thread (started by gbdt-threads.ts): sleeps on the generation word, does its share
 * of each command (a histogram build's features, a row step's rows), counts itself done, and leaves when told to stop.
 * It blocks its own event loop on purpose; everything it needs is in shared memory.
 */

const { control, space, rows, binJob, part, parts, port } = workerData as HistogramWorkerData;

// Features still unbinned when this thread comes up are shared with the main thread first.
try {
  if (binJob !== undefined) runBinTasks(binJob);
} catch (err) {
  port.postMessage((err as Error).message ?? String(err));
  Atomics.store(control, Control.failed, 1);
}
Atomics.add(control, Control.ready, 1);
Atomics.notify(control, Control.ready);
let seen = 0;
for (;;) {
  Atomics.wait(control, Control.generation, seen);
  seen = Atomics.load(control, Control.generation);
  if (Atomics.load(control, Control.stop) !== 0) break;
  try {
    runPart(control, space, rows, part, parts);
  } catch (err) {
    port.postMessage((err as Error).message ?? String(err));
    Atomics.store(control, Control.failed, 1);
  }
  if (Atomics.sub(control, Control.pending, 1) === 1) Atomics.notify(control, Control.pending);
}
port.close();
