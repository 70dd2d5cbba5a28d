import { workerData } from 'node:worker_threads';
import { buildHistogramPart } from './gbdt-histogram.js';
import { Control, type HistogramWorkerData, partRange } from './gbdt-threads.js';

/*
 * A histogram worker thread (started by gbdt-threads.ts): sleeps on the generation word, sums its
 * share of the chosen features for each build, counts itself done, and leaves when told to stop.
 * It blocks its own event loop on purpose; everything it needs is in shared memory.
 */

const { control, space, part, parts, port } = workerData as HistogramWorkerData;

Atomics.add(control, Control.ready, 1);
Atomics.notify(control, Control.ready);
let seen = 0;
for (;;) {
  Atomics.wait(control, Control.generation, seen);
  seen = Atomics.load(control, Control.generation);
  if (Atomics.load(control, Control.stop) !== 0) break;
  try {
    const chosenCount = control[Control.chosenCount]!;
    const [c0, c1] = partRange(part, parts, chosenCount);
    buildHistogramPart(space, control[Control.slot]!, control[Control.begin]!, control[Control.end]!, c0, c1);
  } catch (err) {
    port.postMessage((err as Error).message ?? String(err));
    Atomics.store(control, Control.failed, 1);
  }
  if (Atomics.sub(control, Control.pending, 1) === 1) Atomics.notify(control, Control.pending);
}
port.close();
