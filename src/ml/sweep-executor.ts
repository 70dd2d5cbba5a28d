import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../core/errors.js';
import { workerEntry } from '../core/worker-entry.js';
import { type MedianRuleOptions, MedianStoppingBoard, medianBoardSize } from './median-stopping.js';
import { type CheckedSpec, type FitResult, fitOnDataset } from './model-fit.js';
import type { LoadedDataset } from './table-rows.js';

/*
 * Runs a sweep's trial fits. Fitting is synchronous CPU work, so real parallelism needs threads: with
 * parallel > 1 each trial runs in a worker thread (at most `parallel` at once), all reporting to one
 * median-stopping board on shared memory. With parallel = 1 the fits run in this thread, in order,
 * which also makes the stopping decisions deterministic.
 */

export interface TrialExecutor {
  fit(trial: number, spec: CheckedSpec): Promise<FitResult>;
  close(): Promise<void>;
}

/** One board for the whole sweep; null when early stopping is off. */
function makeBoard(
  rule: MedianRuleOptions | null,
  shared: boolean,
): { board: MedianStoppingBoard | null; cells: Float64Array } {
  const size = rule ? medianBoardSize(rule) : 0;
  const cells = new Float64Array(shared ? new SharedArrayBuffer(size * 8) : new ArrayBuffer(size * 8));
  return { board: rule ? new MedianStoppingBoard(rule, cells) : null, cells };
}

/** Fits in this thread, one trial after another. */
export function inThreadExecutor(dataset: LoadedDataset, rule: MedianRuleOptions | null): TrialExecutor {
  const { board } = makeBoard(rule, false);
  return {
    fit: async (trial, spec) => {
      let i = 0;
      try {
        return fitOnDataset(dataset, spec, (info) => {
          const score = info.validation?.metric;
          const stop = board && score !== undefined ? board.report(trial, i, score) : false;
          i++;
          return stop ? false : undefined;
        });
      } finally {
        board?.finish(trial);
      }
    },
    close: async () => {},
  };
}

/** Fits in up to `parallel` worker threads, each holding a copy of the table. */
export function workerExecutor(
  dataset: LoadedDataset,
  rule: MedianRuleOptions | null,
  parallel: number,
): TrialExecutor {
  const { cells } = makeBoard(rule, true);
  const entry = workerEntry(import.meta.url, 'sweep-worker');
  const idle: Worker[] = [];
  const all = new Set<Worker>();
  const dead = new WeakSet<Worker>();
  const waiting: ((w: Worker) => void)[] = [];
  const spawn = (): Worker => {
    const w = new Worker(entry, { workerData: { dataset, rule, cells } });
    // A worker that crashed or exited takes no more trials; its slot goes to a fresh one.
    w.on('error', () => dead.add(w));
    w.on('exit', () => dead.add(w));
    all.add(w);
    return w;
  };
  const acquire = (): Promise<Worker> => {
    const w = idle.pop();
    if (w) return Promise.resolve(w);
    if (all.size < parallel) return Promise.resolve(spawn());
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (w: Worker) => {
    if (dead.has(w)) {
      all.delete(w);
      void w.terminate();
      const next = waiting.shift();
      if (next) next(spawn());
      return;
    }
    const next = waiting.shift();
    if (next) next(w);
    else idle.push(w);
  };
  return {
    fit: async (trial, spec) => {
      const w = await acquire();
      try {
        return await new Promise<FitResult>((resolve, reject) => {
          const done = () => {
            w.off('message', onMessage);
            w.off('error', onError);
            w.off('exit', onExit);
          };
          const onMessage = (msg: {
            trial: number;
            ok: boolean;
            fit?: FitResult;
            error?: { code: ErrorCode; message: string; details?: Record<string, unknown> };
          }) => {
            if (msg.trial !== trial) return;
            done();
            if (msg.ok && msg.fit) resolve(msg.fit);
            else
              reject(
                new AppError(
                  msg.error?.code ?? 'INTERNAL',
                  msg.error?.message ?? 'trial failed',
                  msg.error?.details,
                ),
              );
          };
          const onError = (err: Error) => {
            done();
            reject(err);
          };
          const onExit = (code: number) => {
            done();
            reject(new Error(`the sweep worker exited (code ${code}) during trial ${trial + 1}`));
          };
          w.on('message', onMessage);
          w.on('error', onError);
          w.on('exit', onExit);
          w.postMessage({ trial, spec });
        });
      } finally {
        release(w);
      }
    },
    close: async () => {
      await Promise.all([...all].map((w) => w.terminate()));
    },
  };
}
