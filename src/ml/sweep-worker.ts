import { parentPort } from 'node:worker_threads';
import { isAppError } from '../core/errors.js';
import { type CheckedSpec, fitOnDataset } from './model-fit.js';
import type { LoadedDataset } from './table-rows.js';

/*
 * A trial thread: fits the trials it is sent, one at a time. Fitting calls back synchronously after
 * each iteration, and the stopping board answers asynchronously (a database), so the thread posts each
 * score and, when the trial is judged, sleeps on the shared control cell until the parent answers:
 * control[0] becomes 1 when the answer is in, control[1] is 1 for "stop now".
 */

export interface TrialRequest {
  dataset: LoadedDataset;
  spec: CheckedSpec;
  /** Int32Array(2) on a SharedArrayBuffer; absent when no board judges the trial. */
  control?: Int32Array;
}

parentPort?.on('message', (msg: TrialRequest) => {
  const control = msg.control;
  try {
    let i = 0;
    const fit = fitOnDataset(msg.dataset, msg.spec, (info) => {
      const score = info.validation?.metric;
      const iteration = i++;
      if (score === undefined) return undefined;
      parentPort?.postMessage({ kind: 'iteration', iteration, score });
      if (!control) return undefined;
      Atomics.wait(control, 0, 0);
      const stop = control[1] === 1;
      Atomics.store(control, 0, 0);
      return stop ? false : undefined;
    });
    parentPort?.postMessage({ kind: 'done', fit }, [fit.onnx.buffer as ArrayBuffer]);
  } catch (err) {
    const e = err as Error;
    parentPort?.postMessage({
      kind: 'error',
      error: isAppError(err)
        ? { code: err.code, message: err.message, details: err.details }
        : { code: 'INTERNAL', message: e.message ?? String(err) },
    });
  }
});
