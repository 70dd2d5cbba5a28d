import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { runBinTasks } from './gbdt-bins.js';
import { Command, Control, spinWhile } from './gbdt-control.js';
import { releaseKernels } from './gbdt-kernels.js';
import { type PoolWorkerData, RECHECK_MS } from './gbdt-pool.js';
import { type FitArrays, runPart } from './gbdt-threads.js';

/*
 * A gbdt worker thread of the pool (gbdt-pool.ts): sleeps on the generation word, and for each
 * command it takes part in (its part below the command's parts) takes a fit's arrays, does its
 * share of a step (a histogram build's features, a level's nodes, a row step's rows), or drops the
 * arrays; then counts itself done. It blocks its own event loop on purpose; everything it needs is
 * in shared memory, or in the one message an attach leaves on its port.
 */

const { control, part, port, generation } = workerData as PoolWorkerData;

let fit: FitArrays | undefined;
Atomics.add(control, Control.ready, 1);
Atomics.notify(control, Control.ready);
let seen = generation;
for (;;) {
  // A new command is a new generation, read here and not taken from how the wait returned: a wake-up
  // that never arrives (seen under load, in rare runs) costs one timeout, never a hang, and a wait
  // that returns early runs nothing twice. It watches the word a while before sleeping: most
  // commands follow the last within that while, and are then taken without a wake-up.
  const now = Atomics.load(control, Control.generation);
  if (now === seen) {
    if (!spinWhile(control, Control.generation, seen))
      Atomics.wait(control, Control.generation, seen, RECHECK_MS);
    continue;
  }
  seen = now;
  if (Atomics.load(control, Control.stop) !== 0) break;
  const parts = Atomics.load(control, Control.parts);
  if (part >= parts) continue;
  try {
    const command = control[Control.command];
    if (command === Command.attach) {
      fit = receiveMessageOnPort(port)?.message as FitArrays | undefined;
      if (fit === undefined) throw new Error('gbdt: an attach without its arrays');
      // Features still unbinned are shared with the calling thread.
      if (fit.binJob !== undefined) runBinTasks(fit.binJob);
    } else if (command === Command.detach) {
      releaseKernels(fit?.space.memory);
      fit = undefined;
    } else {
      if (fit === undefined) throw new Error('gbdt: a command before any attach');
      runPart(control, fit.space, fit.rows, part, parts);
    }
  } catch (err) {
    port.postMessage((err as Error).message ?? String(err));
    Atomics.store(control, Control.failed, 1);
  }
  if (Atomics.sub(control, Control.pending, 1) === 1) Atomics.notify(control, Control.pending);
}
port.close();
