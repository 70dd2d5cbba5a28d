import type { z } from 'zod';
import type { Tx } from '../store/index.js';
import type { JobScope } from './admission.js';

/** What a handler gets besides its payload. */
export interface JobContext {
  jobId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the attempt times out, the job is cancelled, or the worker lost its lease. */
  signal: AbortSignal;
  /** Records progress (a fraction 0..1, or any small JSON value); visible in `sextant jobs show`. */
  progress(value: unknown): Promise<void>;
  /** Tells the queue this attempt is alive (the worker also does this on a timer). */
  heartbeat(): Promise<void>;
  /**
   * Runs fn in one transaction with the job's commit marker: the effects commit once per job, even
   * if the job runs again after its worker was killed. A second commit of the same job is refused
   * (ConflictError) and fn does not run.
   */
  commit<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** True when an earlier attempt already committed this job's effects. */
  readonly committed: boolean;
}

export type JobHandler<P> = (payload: P, ctx: JobContext) => Promise<unknown>;

/** One kind of job: its name, payload schema, handler and defaults. */
export interface JobKind<S extends z.ZodType = z.ZodType> {
  /** Unique, e.g. 'sweep.trial'. */
  name: string;
  payload: S;
  handler: JobHandler<z.output<S>>;
  /** Default 'default'. */
  queue?: string;
  /** Attempts before the job ends failed (default 3). */
  attempts?: number;
  /** Delay before the first retry; doubles per attempt (default 1,000 ms). */
  backoffMs?: number;
  /** Budget of one attempt (default 10 minutes). */
  timeoutMs?: number;
  /** A worker takes the job only when it has every one of these tags (e.g. ['gpu']). */
  tags?: string[];
  /** What a job's cost falls on, read from its payload (a sweep trial: its experiment and sweep run). */
  scopeOf?: (payload: z.output<S>) => JobScope | undefined;
}

/** A kind with its defaults filled in. */
export interface ResolvedJobKind {
  name: string;
  payload: z.ZodType;
  handler: JobHandler<unknown>;
  queue: string;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  tags: string[];
  scopeOf: ((payload: unknown) => JobScope | undefined) | undefined;
}

export const JOB_DEFAULTS = {
  queue: 'default',
  attempts: 3,
  backoffMs: 1_000,
  timeoutMs: 600_000,
} as const;

/** Declares a job kind with its payload type inferred from the schema. */
export function defineJob<S extends z.ZodType>(kind: JobKind<S>): JobKind<S> {
  return kind;
}

/** The lane a job waits in: its queue, plus its required tags ('train@gpu'). */
export function laneOf(queue: string, tags: readonly string[]): string {
  return tags.length ? `${queue}@${[...tags].sort().join('+')}` : queue;
}

/** Every lane a worker with these queues and tags takes jobs from (each subset of its tags). */
export function lanesFor(queues: readonly string[], tags: readonly string[]): string[] {
  const sorted = [...new Set(tags)].sort();
  const subsets: string[][] = [[]];
  for (const t of sorted) for (const s of [...subsets]) subsets.push([...s, t]);
  return queues.flatMap((q) => subsets.map((s) => laneOf(q, s)));
}
