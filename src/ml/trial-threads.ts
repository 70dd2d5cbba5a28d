import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../core/errors.js';
import { workerEntry } from '../core/worker-entry.js';
import type { CheckedSpec, FitResult } from './model-fit.js';
import type { TrialRequest } from './sweep-worker.js';
import type { LoadedDataset } from './table-rows.js';

/*
 * Worker threads that fit sweep trials. A fit is synchronous CPU work: in a thread it leaves the
 * process's event loop free for job heartbeats, the board's database round trips and cancellation
 * (a cancelled trial's thread is terminated). Idle threads are kept for the next trial (starting
 * one loads the trainers again) and do not hold the process open.
 */

export interface TrialFitOptions {
  /** Judges each iteration's score; true stops the trial. Absent: the trial runs to the end. */
  report?(iteration: number, score: number): Promise<boolean>;
  signal?: AbortSignal;
}

export interface TrialThreads {
  fit(dataset: LoadedDataset, spec: CheckedSpec, options?: TrialFitOptions): Promise<FitResult>;
  close(): Promise<void>;
}

type Reply =
  | { kind: 'iteration'; iteration: number; score: number }
  | { kind: 'done'; fit: FitResult }
  | { kind: 'error'; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };

/** A pool of trial threads; each fit takes an idle thread or starts one. */
export function createTrialThreads(): TrialThreads {
  const entry = workerEntry(import.meta.url, 'sweep-worker');
  const idle: Worker[] = [];
  const all = new Set<Worker>();

  const take = (): Worker => {
    const w = idle.pop();
    if (w) {
      w.ref();
      return w;
    }
    const fresh = new Worker(entry);
    all.add(fresh);
    // A thread that exits while idle (it crashed) is not handed out again.
    fresh.once('exit', () => {
      all.delete(fresh);
      const at = idle.indexOf(fresh);
      if (at >= 0) idle.splice(at, 1);
    });
    return fresh;
  };
  const giveBack = (w: Worker) => {
    w.unref();
    idle.push(w);
  };
  const discard = (w: Worker) => {
    all.delete(w);
    void w.terminate();
  };

  return {
    fit: (dataset, spec, options = {}) => {
      const { report, signal } = options;
      if (signal?.aborted) return Promise.reject(abortError(signal));
      const w = take();
      const control = report ? new Int32Array(new SharedArrayBuffer(8)) : undefined;
      return new Promise<FitResult>((resolve, reject) => {
        // Reports are judged one after another, in the order the thread made them.
        let judging: Promise<void> = Promise.resolve();
        let settled = false;
        const end = (err: unknown, fit?: FitResult, keep = false) => {
          if (settled) return;
          settled = true;
          w.off('message', onMessage);
          w.off('error', onError);
          w.off('exit', onExit);
          signal?.removeEventListener('abort', onAbort);
          if (keep) giveBack(w);
          else discard(w);
          if (fit) resolve(fit);
          else reject(err);
        };
        const onMessage = (msg: Reply) => {
          if (msg.kind === 'iteration') {
            if (!report || !control) return;
            judging = judging.then(async () => {
              if (settled) return;
              let stop: boolean;
              try {
                stop = await report(msg.iteration, msg.score);
              } catch (err) {
                end(err);
                return;
              }
              control[1] = stop ? 1 : 0;
              Atomics.store(control, 0, 1);
              Atomics.notify(control, 0);
            });
          } else if (msg.kind === 'done') {
            void judging.then(() => end(undefined, msg.fit, true));
          } else {
            const e = msg.error;
            void judging.then(() => end(new AppError(e.code, e.message, e.details), undefined, true));
          }
        };
        const onError = (err: Error) => end(err);
        const onExit = (code: number) => end(new Error(`the trial thread exited (code ${code}) mid-fit`));
        const onAbort = () => end(abortError(signal!));
        w.on('message', onMessage);
        w.on('error', onError);
        w.on('exit', onExit);
        signal?.addEventListener('abort', onAbort, { once: true });
        const request: TrialRequest = { dataset, spec, ...(control ? { control } : {}) };
        w.postMessage(request);
      });
    },
    close: async () => {
      idle.length = 0;
      await Promise.all([...all].map((w) => w.terminate()));
    },
  };
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the trial was cancelled');
}
