import { parentPort, workerData } from 'node:worker_threads';
import { isAppError } from '../core/errors.js';
import { type MedianRuleOptions, MedianStoppingBoard } from './median-stopping.js';
import { type CheckedSpec, fitOnDataset } from './model-fit.js';
import type { LoadedDataset } from './table-rows.js';

/*
 * A sweep worker thread: fits the trials it is sent on its own copy of the table, reporting each
 * iteration to the median-stopping board shared with the other workers (a SharedArrayBuffer).
 */

interface Init {
  dataset: LoadedDataset;
  rule: MedianRuleOptions | null;
  cells: Float64Array;
}

const init = workerData as Init;
const board = init.rule ? new MedianStoppingBoard(init.rule, init.cells) : null;

parentPort?.on('message', (msg: { trial: number; spec: CheckedSpec }) => {
  try {
    let i = 0;
    const fit = fitOnDataset(init.dataset, msg.spec, (info) => {
      const score = info.validation?.metric;
      const stop = board && score !== undefined ? board.report(msg.trial, i, score) : false;
      i++;
      return stop ? false : undefined;
    });
    board?.finish(msg.trial);
    parentPort?.postMessage({ trial: msg.trial, ok: true, fit }, [fit.onnx.buffer as ArrayBuffer]);
  } catch (err) {
    board?.finish(msg.trial);
    const e = err as Error;
    parentPort?.postMessage({
      trial: msg.trial,
      ok: false,
      error: isAppError(err)
        ? { code: err.code, message: err.message, details: err.details }
        : { code: 'INTERNAL', message: e.message ?? String(err) },
    });
  }
});
