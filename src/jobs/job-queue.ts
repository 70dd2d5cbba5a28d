import type { z } from 'zod';
import type { Tx } from '../store/index.js';
import type { JobScope } from './admission.js';
import type { Job, JobDetail, JobPage, ListJobsQuery, WorkerInfo } from './job.schema.js';
import type { JobKind } from './job-kind.js';

export interface EnqueueOptions {
  /** 1 runs first; unset runs before any prioritised job (as in BullMQ). */
  priority?: number;
  /** Overrides the kind's attempts. */
  attempts?: number;
  /** Not before this many ms from now. */
  delayMs?: number;
  /** Idempotency key: enqueue with a key already used returns that job and adds nothing. */
  key?: string;
  /** What the job's cost falls on (else the kind's scopeOf); checked by admission (budgets). */
  scope?: JobScope;
}

export interface RepeatOptions {
  /** Five-field cron (UTC), e.g. '*\/5 * * * *'; or everyMs. */
  cron?: string;
  everyMs?: number;
  /** Names the schedule; repeat() with the same key replaces it. */
  key: string;
}

export interface WorkOptions {
  /** Jobs run at once by this worker (default 1). */
  concurrency?: number;
  /** Queues to take jobs from (default ['default']). */
  queues?: string[];
  /** What this worker offers: it takes jobs whose tags are all among these. */
  tags?: string[];
  /**
   * How long a job this worker runs stays claimed without a heartbeat: after a kill -9 it runs
   * again elsewhere once this has passed (default: the queue's, 30 s).
   */
  leaseMs?: number;
  /** Told how each attempt this worker ran ended (logging, metrics). */
  onAttempt?: (e: AttemptEvent) => void;
}

/** How one attempt ended: 'retry' is a failure with attempts left; 'lost' a lease taken over. */
export interface AttemptEvent {
  jobId: string;
  name: string;
  attempt: number;
  status: 'completed' | 'retry' | 'failed' | 'cancelled' | 'lost';
}

/** A job row written in a caller's transaction, not yet handed to workers. */
export interface PreparedJob {
  job: Job;
  /** Hands the job to workers (wakes in-process workers; adds the BullMQ job). Call after commit. */
  dispatch(): Promise<void>;
}

/** One queue's depth, for autoscalers (KEDA, an HPA) to scale workers on. */
export interface QueueDepth {
  queue: string;
  waiting: number;
  held: number;
  active: number;
}

/** The busy share of this process's workers is busy / slots. */
export interface WorkerLoad {
  slots: number;
  busy: number;
}

export interface WorkerHandle {
  readonly workerId: string;
  /** When this worker last ran a job or was started (ms): what `--idle-exit` measures from. */
  idleSince(): number | null;
  /** Stops taking jobs and waits for the running ones to end. */
  close(): Promise<void>;
}

/**
 * The jobs seam. Two implementations share this contract (job-queue.contract.ts): in-process on the
 * database (the laptop default) and BullMQ on Redis. On both, every job and attempt is a database row.
 */
export interface JobQueue {
  readonly kind: 'in-process' | 'bullmq';
  /** Registers a kind; enqueue and work only know registered kinds. */
  define<S extends z.ZodType>(kind: JobKind<S>): JobKind<S>;
  /** Validates the payload against the kind's schema (ValidationError naming the field; nothing written). */
  enqueue(name: string, payload: unknown, options?: EnqueueOptions): Promise<Job>;
  /**
   * Writes the job row in the caller's transaction (with the state change that makes the job due);
   * call dispatch() once that transaction has committed. Until then no worker sees the job; if the
   * process dies before dispatch, BullMQ workers re-dispatch the queued row when they start.
   */
  enqueueIn(tx: Tx, name: string, payload: unknown, options?: EnqueueOptions): Promise<PreparedJob>;
  /** Makes a job of this kind once per tick, across every process working the queue. */
  repeat(name: string, payload: unknown, options: RepeatOptions): Promise<void>;
  /** Removes a schedule; false when there was none. */
  unrepeat(key: string): Promise<boolean>;
  get(id: string): Promise<JobDetail>;
  list(query?: ListJobsQuery): Promise<JobPage>;
  /** Workers the attempt log has seen lately: queues, last sign of life, the job each holds. */
  workers(): Promise<WorkerInfo[]>;
  /** Cancels a queued or running job (audited); a running handler sees its signal abort. */
  cancel(input: { actor: string; id: string }): Promise<Job>;
  /** Starts consuming jobs in this process. */
  work(options?: WorkOptions): WorkerHandle;
  /** Jobs per queue now: waiting (queued, free to run), held (queued, held by admission), active (running). */
  depth(): Promise<QueueDepth[]>;
  /** This process's workers: slots (their concurrency, summed) and busy (attempts running now). */
  load(): WorkerLoad;
  /** Stops every worker this queue started and releases connections. */
  close(): Promise<void>;
}
