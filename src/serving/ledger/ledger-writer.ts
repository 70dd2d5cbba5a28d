import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../../core/worker-entry.js';
import type { Store } from '../../store/index.js';
import type { LedgerWorkerReply, LedgerWorkerRequest } from './ledger-worker.repo.js';
import { insertPredictionCells } from './prediction.repo.js';
import type { Cell } from './prediction-row.js';

/** Commits one group of flattened prediction rows; the ledger calls it at most once at a time. */
export interface LedgerWriter {
  write(cells: Cell[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The writer for a store: a worker thread with its own connection for a SQLite file (the fsync of a
 * commit then never blocks the event loop), the store's own pool for PostgreSQL, and the main
 * connection for an in-memory SQLite database (which no second connection can see).
 */
export function writerFor(store: Store): LedgerWriter {
  if (store.dialect === 'sqlite') {
    const file = store.url.slice('sqlite:'.length);
    if (file !== ':memory:' && file !== '') return sqliteWorkerWriter(path.resolve(file));
  }
  return {
    write: (cells) => insertPredictionCells({ db: store.db, cells, dialect: store.dialect }),
    close: async () => {},
  };
}

class WriterError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

/** A SQLite writer thread; a crashed thread fails its group and is replaced by the next write. */
function sqliteWorkerWriter(file: string): LedgerWriter {
  const entry = workerEntry(import.meta.url, 'ledger-worker.repo');
  let worker: Worker | undefined;
  let seq = 0;
  let waiting: { seq: number; resolve: () => void; reject: (err: Error) => void } | undefined;

  const settle = (err: Error | undefined) => {
    const w = waiting;
    waiting = undefined;
    // Idle, the thread must not keep the process alive; while a commit is in flight it must.
    worker?.unref();
    if (!w) return;
    if (err) w.reject(err);
    else w.resolve();
  };
  const start = (): Worker => {
    const w = new Worker(entry, { workerData: { file } });
    w.unref();
    w.on('message', (msg: LedgerWorkerReply) => {
      if (msg.seq !== waiting?.seq) return;
      settle(msg.ok ? undefined : new WriterError(msg.message, msg.code));
    });
    const gone = (err: Error) => {
      if (worker === w) worker = undefined;
      settle(err);
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new WriterError(`the ledger writer thread exited (code ${code})`)));
    return w;
  };
  const send = (msg: LedgerWorkerRequest, w: Worker) =>
    new Promise<void>((resolve, reject) => {
      waiting = { seq: msg.seq, resolve, reject };
      w.ref();
      w.postMessage(msg);
    });

  worker = start();
  return {
    write: (cells) => {
      worker ??= start();
      return send({ seq: ++seq, cells }, worker);
    },
    close: async () => {
      const w = worker;
      if (!w) return;
      worker = undefined;
      try {
        await send({ seq: ++seq, close: true }, w);
      } catch {
        // It already exited: nothing left to close.
      }
      await w.terminate();
    },
  };
}
