import { Worker } from 'node:worker_threads';
import { workerEntry } from '../../core/worker-entry.js';
import { type Store, sqliteFileOf } from '../../store/index.js';
import { encodeGroup } from './entry-group.js';
import type { LedgerWorkerReply, LedgerWorkerRequest } from './ledger-worker.repo.js';
import { insertPredictionCells } from './prediction.repo.js';
import { flattenRows, type PackedEntry } from './prediction-row.js';

/** Commits one group of packed entries (prediction rows); the ledger calls it at most once at a time. */
export interface LedgerWriter {
  write(entries: PackedEntry[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The writer for a store: a worker thread with its own connection for a SQLite file (the fsync of a
 * commit then never blocks the event loop), the store's own pool for PostgreSQL, and the main
 * connection for an in-memory SQLite database (which no second connection can see).
 */
export function writerFor(store: Store): LedgerWriter {
  const file = sqliteFileOf(store);
  if (file) return sqliteWorkerWriter(file);
  return {
    write: (entries) =>
      insertPredictionCells({ db: store.db, cells: flattenRows(entries), dialect: store.dialect }),
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

/*
 * One writer thread per database file, shared by every ledger of the process (a server runs one per
 * deployment): SQLite has one write lock, and groups queued in one thread never wait on each other's
 * busy timeouts. The thread closes when the last ledger using it does.
 */
const shared = new Map<string, { writer: LedgerWriter; users: number }>();

function sqliteWorkerWriter(file: string): LedgerWriter {
  let entry = shared.get(file);
  if (!entry) {
    entry = { writer: startWorkerWriter(file), users: 0 };
    shared.set(file, entry);
  }
  entry.users++;
  const mine = entry;
  let closed = false;
  return {
    write: (entries) => mine.writer.write(entries),
    close: async () => {
      if (closed) return;
      closed = true;
      if (--mine.users > 0) return;
      if (shared.get(file) === mine) shared.delete(file);
      await mine.writer.close();
    },
  };
}

/** A SQLite writer thread; groups are answered in order; a crashed thread fails its groups and is replaced by the next write. */
function startWorkerWriter(file: string): LedgerWriter {
  const entry = workerEntry(import.meta.url, 'ledger-worker.repo');
  let worker: Worker | undefined;
  let seq = 0;
  const waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  const settle = (n: number, err: Error | undefined) => {
    const w = waiting.get(n);
    if (!w) return;
    waiting.delete(n);
    if (err) w.reject(err);
    else w.resolve();
  };
  const start = (): Worker => {
    const w = new Worker(entry, { workerData: { file } });
    // Idle, the thread must not keep the process alive; while a commit is in flight it must.
    w.unref();
    w.on('message', (msg: LedgerWorkerReply) => {
      settle(msg.seq, msg.ok ? undefined : new WriterError(msg.message, msg.code));
      if (waiting.size === 0) w.unref();
    });
    const gone = (err: Error) => {
      if (worker !== w) return;
      worker = undefined;
      for (const n of [...waiting.keys()]) settle(n, err);
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new WriterError(`the ledger writer thread exited (code ${code})`)));
    return w;
  };
  const send = (msg: LedgerWorkerRequest, w: Worker) =>
    new Promise<void>((resolve, reject) => {
      waiting.set(msg.seq, { resolve, reject });
      w.ref();
      // The group's bytes move to the thread (no copy, nothing to clone).
      w.postMessage(msg, 'group' in msg ? [msg.group.buffer as ArrayBuffer] : []);
    });

  worker = start();
  return {
    write: (entries) => {
      worker ??= start();
      return send({ seq: ++seq, group: encodeGroup(entries) }, worker);
    },
    close: async () => {
      const w = worker;
      if (!w) return;
      try {
        // Answered after every group sent before it: the thread handles messages in order.
        await send({ seq: ++seq, close: true }, w);
      } catch {
        // It already exited: nothing left to close.
      }
      worker = undefined;
      await w.terminate();
    },
  };
}
