import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { workerEntry } from '../../core/worker-entry.js';
import { Command, Control, waitWhile } from './gbdt-control.js';

/*
 * The gbdt worker threads of this thread, kept from one fit to the next. Starting a worker costs
 * tens of milliseconds from the built bundle and about a second from the TypeScript sources (tsx
 * compiles its modules again in each thread), against a fit of a second or two: a fit that had to
 * start its own workers ran alone for much of its length. The workers sleep (Atomics.wait) between
 * fits; they are unref'd, so they never keep the process alive.
 *
 * Fits run one at a time on a thread (fitting is synchronous), so one set of control words serves
 * every fit: a fit hands its shared arrays to the workers (attach), runs its commands, and lets
 * them go (detach). A worker that fails takes the pool down with it; the next fit starts a new one.
 */

/** What a pool worker receives as workerData. */
export interface PoolWorkerData {
  control: Int32Array;
  /** Its part of every command it takes part in (the calling thread sums part 0). */
  part: number;
  /** The generation when it was started: commands after it are its to run. */
  generation: number;
  port: MessagePort;
}

/** How long a sleeping thread waits before it checks its word again (in case a wake-up was lost). */
export const RECHECK_MS = 50;

/** A started worker that takes this long over one command is taken for dead (generous: machines get loaded). */
export const COMMAND_TIMEOUT_MS = 600_000;

export interface GbdtPool {
  readonly control: Int32Array;
  /** Workers started (ready or not). */
  readonly size: number;
  /** Starts workers until there are `size` (between fits: no command is running). */
  grow(size: number): void;
  /** Takes the pool for one fit; false while another fit holds it. */
  claim(): boolean;
  /** Gives the pool back (the fit ends). */
  release(): void;
  /** Whether the workers were not stopped (by a failure). */
  alive(): boolean;
  /** Whether every worker has started and waits for commands. */
  ready(): boolean;
  /** Blocks until every worker is ready or the timeout passes; says whether they are. */
  waitReady(timeoutMs: number): boolean;
  /**
   * Once the workers are done with the last command, writes the next one into the control words
   * (`command`: a worker may still be reading the last one's words until then), runs it on workers
   * 1..parts-1 and part 0 (the caller's) with `own`, and returns once all are done; `wait: false`
   * returns at once (the next command waits).
   */
  run(parts: number, command: (control: Int32Array) => void, own: () => void, wait?: boolean): void;
  /** Waits until the workers are done with the last command. */
  sync(): void;
  /**
   * (The calling thread, inside its own part of a command.) Blocks until word `index` counts down
   * to 0; throws, ending the pool, when a worker failed or the count hangs.
   */
  countDown(index: number): void;
  /** Posts a message to worker `part` (read by it with receiveMessageOnPort on the next command). */
  post(part: number, message: unknown): void;
  /** Ends the workers (after a failure): the next fit starts a new pool. */
  kill(): void;
}

let current: GbdtPool | undefined;

/** The pool of this thread, grown to at least `size` workers. */
export function gbdtPool(size: number): GbdtPool {
  current ??= startPool();
  current.grow(size);
  return current;
}

function startPool(): GbdtPool {
  const control = new Int32Array(new SharedArrayBuffer(4 * Control.length));
  const entry = workerEntry(import.meta.url, 'gbdt-histogram-worker');
  const ports: MessagePort[] = [];
  const errors: string[] = [];
  const workers: Worker[] = [];
  const start = () => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    // Commands from now on are its to run (the last one, a detach maybe, was counted without it).
    const generation = Atomics.load(control, Control.generation);
    const workerData: PoolWorkerData = { control, part: workers.length + 1, generation, port: port2 };
    const w = new Worker(entry, { workerData, transferList: [port2] });
    w.unref();
    // Without a listener a worker's error would crash the process. One that fails before it is ready
    // leaves the work on the calling thread (same model); one that fails during a command is named
    // when the command times out.
    w.on('error', (err) => errors.push(err.message));
    workers.push(w);
  };
  let dead = false;
  let claimed = false;
  const kill = () => {
    dead = true;
    if (current === pool) current = undefined;
    Atomics.store(control, Control.stop, 1);
    Atomics.add(control, Control.generation, 1);
    Atomics.notify(control, Control.generation);
    for (const w of workers) void w.terminate();
  };
  const fail = (message: string): never => {
    kill();
    throw new Error(message);
  };
  /**
   * Blocks until word `index` counts down to 0, in short steps, each re-checking for a failure and
   * waking the workers again: a wake-up lost on either side (seen in rare runs under load) costs a
   * step, never a hang. Throws (ending the pool) when a worker failed or the count hangs.
   */
  const countDown = (index: number) => {
    const deadline = Date.now() + COMMAND_TIMEOUT_MS;
    const check = () => {
      failIfFailed();
      if (Date.now() >= deadline) hung();
      Atomics.notify(control, Control.generation);
    };
    for (let left = Atomics.load(control, index); left !== 0; )
      left = waitWhile(control, index, left, RECHECK_MS, check);
  };
  /** Waits until the workers are done with the last command; throws if one failed or hangs. */
  const idle = () => {
    countDown(Control.pending);
    // A worker that failed counts itself done too.
    failIfFailed();
  };
  const hung = (): never =>
    fail(
      `gbdt: a worker thread did not answer within ${COMMAND_TIMEOUT_MS / 1000} s${errors.length ? ` (${errors[0]})` : ''}`,
    );
  /** Throws (ending the pool) with a failed worker's message, if one failed. */
  const failIfFailed = () => {
    if (Atomics.load(control, Control.failed) === 0) return;
    const reasons = ports.map((p) => receiveMessageOnPort(p)?.message).filter((m) => m !== undefined);
    fail(`gbdt: a worker thread failed: ${String(reasons[0] ?? 'no message')}`);
  };
  const ready = () => !dead && Atomics.load(control, Control.ready) >= workers.length;
  const pool: GbdtPool = {
    control,
    get size() {
      return workers.length;
    },
    grow(size) {
      while (workers.length < size) start();
    },
    ready,
    claim() {
      if (claimed) return false;
      claimed = true;
      return true;
    },
    release() {
      claimed = false;
    },
    alive: () => !dead,
    waitReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const n = Atomics.load(control, Control.ready);
        if (dead || n >= workers.length || Date.now() >= deadline) return ready();
        Atomics.wait(control, Control.ready, n, Math.max(1, deadline - Date.now()));
      }
    },
    run(parts, command, own, wait = true) {
      if (dead) throw new Error('gbdt: the worker threads were stopped');
      idle();
      command(control);
      Atomics.store(control, Control.parts, parts);
      Atomics.store(control, Control.pending, parts - 1);
      Atomics.add(control, Control.generation, 1);
      Atomics.notify(control, Control.generation);
      own();
      if (wait) idle();
    },
    sync: idle,
    countDown,
    post(part, message) {
      ports[part - 1]!.postMessage(message);
    },
    kill,
  };
  return pool;
}

/** Tells every worker of the pool to drop the arrays of the fit that ends (not waiting for them). */
export function detach(pool: GbdtPool): void {
  // A pool that failed has no workers left to tell (and its failure is the error being thrown).
  if (!pool.alive()) return;
  pool.run(
    pool.size + 1,
    (control) => {
      control[Control.command] = Command.detach;
    },
    () => undefined,
    false,
  );
}
